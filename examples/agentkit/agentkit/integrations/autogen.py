"""agentkit's AutoGen integration: assistant agents and a round-robin team.

Compatibility:
    autogen-agentchat: 0.4.2 - 0.7.5
    Last tested: 0.7.5 (2026-12-05)
    Python: 3.11, 3.12

Known Issues:
    None

Next Breaking Change:
    None known
"""

from __future__ import annotations

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_ext.models.openai import OpenAIChatCompletionClient

from agentkit._compat_notices import check

check("autogen")


def make_assistant(name: str, api_key: str, *, model: str = "gpt-4o", tools=()):
    """An AssistantAgent backed by an OpenAI chat-completion client."""
    client = OpenAIChatCompletionClient(model=model, api_key=api_key)
    return AssistantAgent(name, model_client=client, tools=list(tools))


def make_team(agents, *, max_messages: int = 2):
    """A round-robin team that stops after ``max_messages``."""
    return RoundRobinGroupChat(
        list(agents), termination_condition=MaxMessageTermination(max_messages)
    )
