"""API contracts this project relies on, per integration: imports, constructors, basic methods.

Run inside compat cells (`nox -s compat-<integration>-<label>`, selected with -k by the
integration's name). No network, no API keys: clients are built with dummy keys and
never called. Outside a cell, an uninstalled package skips its tests; inside a cell
(COMPAT_CELL is set) a missing import is a failure, never a silent skip. The
`*_through_agentkit` tests drive the example library's integration modules
(examples/agentkit), whose version metadata nox-compat keeps in step.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from pathlib import Path

import pytest

DUMMY_KEY = "sk-compat-dummy"
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "agentkit"))


def need(module: str):
    if os.environ.get("COMPAT_CELL"):
        return importlib.import_module(module)
    return pytest.importorskip(module)


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_KEY)
    monkeypatch.setenv("CREWAI_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


# --- openai -----------------------------------------------------------------


def test_openai_client_exposes_chat_completions() -> None:
    openai = need("openai")
    client = openai.OpenAI(api_key=DUMMY_KEY)
    assert callable(client.chat.completions.create)
    assert callable(client.models.list)
    params = inspect.signature(client.chat.completions.create).parameters
    assert {"model", "messages", "tools"} <= set(params)


def test_openai_async_client_and_errors() -> None:
    openai = need("openai")
    client = openai.AsyncOpenAI(api_key=DUMMY_KEY, max_retries=0)
    assert callable(client.chat.completions.create)
    assert issubclass(openai.RateLimitError, openai.APIError)


def test_openai_response_types() -> None:
    need("openai")
    from openai.types.chat import ChatCompletion, ChatCompletionMessageToolCall  # noqa: F401

    assert "choices" in ChatCompletion.model_fields


def test_openai_through_agentkit() -> None:
    need("openai")
    from agentkit.integrations import openai as kit

    client = kit.make_client(DUMMY_KEY, max_retries=0)
    assert callable(client.chat.completions.create)
    assert callable(kit.make_client(DUMMY_KEY, asynchronous=True).chat.completions.create)
    assert not kit.is_retryable(ValueError("not an API error"))


# --- crewai -----------------------------------------------------------------


def _crewai_agent(crewai, **extra):
    return crewai.Agent(
        role="Researcher",
        goal="Find facts",
        backstory="A careful analyst.",
        llm="gpt-4o-mini",
        allow_delegation=False,
        **extra,
    )


def test_crewai_agent_task_crew() -> None:
    crewai = need("crewai")
    agent = _crewai_agent(crewai)
    task = crewai.Task(description="Say hi", expected_output="A greeting", agent=agent)
    crew = crewai.Crew(agents=[agent], tasks=[task], process=crewai.Process.sequential)
    assert crew.agents[0].role == "Researcher" and crew.tasks[0].agent is agent
    assert callable(crew.kickoff)


def test_crewai_tool_from_function() -> None:
    crewai = need("crewai")
    from crewai.tools import tool

    @tool("Adder")
    def adder(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    assert adder.name == "Adder"
    assert adder.run(a=2, b=3) == 5
    assert _crewai_agent(crewai, tools=[adder]).tools[0].name == "Adder"


def test_crewai_through_agentkit() -> None:
    need("crewai")
    from agentkit.integrations import crewai as kit

    adder = kit.as_tool("Adder", add)
    agent = kit.make_agent("Researcher", "Find facts", tools=[adder])
    crew = kit.make_crew(agent, "Say hi", "A greeting")
    assert crew.tasks[0].agent is agent and agent.tools[0].name == "Adder"


# --- autogen ----------------------------------------------------------------


def _autogen_client():
    models = need("autogen_ext.models.openai")
    return models.OpenAIChatCompletionClient(model="gpt-4o", api_key=DUMMY_KEY)


def test_autogen_assistant_agent_with_model_client() -> None:
    agents = need("autogen_agentchat.agents")
    agent = agents.AssistantAgent("assistant", model_client=_autogen_client())
    assert agent.name == "assistant"
    assert callable(agent.on_messages) and callable(agent.run)


def test_autogen_agent_with_function_tool_and_team() -> None:
    agents = need("autogen_agentchat.agents")
    teams = need("autogen_agentchat.teams")
    conditions = need("autogen_agentchat.conditions")
    agent = agents.AssistantAgent("calc", model_client=_autogen_client(), tools=[add])
    team = teams.RoundRobinGroupChat(
        [agent], termination_condition=conditions.MaxMessageTermination(2)
    )
    assert callable(team.run)


def test_autogen_through_agentkit() -> None:
    need("autogen_agentchat")
    from agentkit.integrations import autogen as kit

    agent = kit.make_assistant("calc", DUMMY_KEY, tools=[add])
    assert callable(kit.make_team([agent]).run)


# --- langchain --------------------------------------------------------------


def test_langchain_tool_decorator_invoke() -> None:
    tools = need("langchain_core.tools")

    @tools.tool
    def multiply(a: int, b: int) -> int:
        """Multiply two integers."""
        return a * b

    assert multiply.name == "multiply"
    assert multiply.invoke({"a": 6, "b": 7}) == 42
    assert set(multiply.args) == {"a", "b"}


def test_langchain_structured_tool_from_function() -> None:
    tools = need("langchain_core.tools")
    adder = tools.StructuredTool.from_function(
        func=add, name="add", description="Add two integers."
    )
    assert adder.invoke({"a": 2, "b": 3}) == 5


def test_langchain_messages_prompts_runnables() -> None:
    need("langchain_core")
    from langchain_core.messages import AIMessage, HumanMessage
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnableLambda

    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{question}")])
    messages = prompt.invoke({"question": "hi"}).to_messages()
    assert isinstance(messages[-1], HumanMessage) and messages[-1].content == "hi"
    chain = prompt | RunnableLambda(lambda value: AIMessage(content=str(len(value.to_messages()))))
    assert chain.invoke({"question": "hi"}).content == "2"


def test_langchain_through_agentkit() -> None:
    need("langchain_core")
    from agentkit.integrations import langchain as kit

    assert (
        kit.as_tool(add, name="add", description="Add two integers.").invoke({"a": 1, "b": 2}) == 3
    )
    chain = kit.brief_chain(lambda messages: str(len(messages)))
    assert chain.invoke({"question": "hi"}).content == "2"
