"""agentkit's CrewAI integration: a one-agent crew from a role and a goal.

Compatibility:
    crewai: 0.80.0 - 1.15.30
    Last tested: 1.15.30 (2026-12-05)
    Python: 3.11, 3.12

Known Issues:
    None

Next Breaking Change:
    None known
"""

from __future__ import annotations

import crewai
from crewai.tools import tool

from agentkit._compat_notices import check

check("crewai")


def make_agent(role: str, goal: str, *, llm: str = "gpt-4o-mini", tools=()):
    """A CrewAI agent that does not delegate."""
    return crewai.Agent(
        role=role,
        goal=goal,
        backstory=f"An agentkit {role.lower()}.",
        llm=llm,
        allow_delegation=False,
        tools=list(tools),
    )


def make_crew(agent, description: str, expected_output: str):
    """A sequential crew running one task with ``agent``."""
    task = crewai.Task(description=description, expected_output=expected_output, agent=agent)
    return crewai.Crew(agents=[agent], tasks=[task], process=crewai.Process.sequential)


def as_tool(name: str, function):
    """A plain function as a CrewAI tool."""
    return tool(name)(function)
