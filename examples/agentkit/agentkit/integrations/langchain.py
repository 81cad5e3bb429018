"""agentkit's LangChain integration: tools and a prompt chain from langchain-core.

Compatibility:
    langchain-core: 0.3.0 - 1.7.7
    Last tested: 1.7.7 (2026-12-05)
    Python: 3.11, 3.12

Known Issues:
    1.8.4 does not install: langchain-core 1.8.4 cannot be installed on this index: its
        own requirements are unresolvable — No solution found when resolving
        dependencies cause: Because only langchain-protocol<=0.0.20 is available and
        langchain-core>=1.8.4 depends on langchain-protocol>=0.0.22, we can conclude
        that langchain-core>=1.8.4 cannot be used. …

Next Breaking Change:
    None known
"""

from __future__ import annotations

from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import StructuredTool

from agentkit._compat_notices import check

check("langchain")


def as_tool(function, *, name: str, description: str):
    """A plain function as a LangChain structured tool."""
    return StructuredTool.from_function(func=function, name=name, description=description)


def brief_chain(answer):
    """A system-prompted chain whose model is ``answer`` (messages -> text)."""
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{question}")])
    return prompt | RunnableLambda(lambda value: AIMessage(content=answer(value.to_messages())))
