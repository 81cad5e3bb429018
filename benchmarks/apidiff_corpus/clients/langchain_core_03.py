"""A LangChain integration: prompts, runnables and tools (no model is called)."""

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def check_prompt_chain():
    prompt = ChatPromptTemplate.from_messages([("system", "be brief"), ("human", "{q}")])
    fake_model = RunnableLambda(lambda value: AIMessage(content=value.to_messages()[-1].content))
    chain = prompt | fake_model | StrOutputParser()
    assert chain.invoke({"q": "hi"}) == "hi"


def check_tool():
    assert add.invoke({"a": 1, "b": 2}) == 3
    assert add.name == "add" and "a" in add.args


def check_messages():
    message = HumanMessage(content="hi", id="1")
    assert message.model_dump()["content"] == "hi"
