"""agentkit's OpenAI integration: clients and the chat-completion call.

Compatibility:
    openai: 1.40.0 - 3.63.0
    Last tested: 3.63.0 (2026-12-05)
    Python: 3.11, 3.12

Known Issues:
    None

Next Breaking Change:
    None known
"""

from __future__ import annotations

import openai

from agentkit._compat_notices import check

check("openai")


def make_client(api_key: str, *, asynchronous: bool = False, max_retries: int = 2):
    """An OpenAI client (async when asked) that agentkit's agents call."""
    factory = openai.AsyncOpenAI if asynchronous else openai.OpenAI
    return factory(api_key=api_key, max_retries=max_retries)


def complete(client, messages: list[dict], *, model: str = "gpt-4o-mini", tools=None):
    """One chat completion (the call agentkit makes for every agent step)."""
    return client.chat.completions.create(model=model, messages=messages, tools=tools or [])


def is_retryable(error: Exception) -> bool:
    """Rate limits and server errors are retried by agentkit's loop."""
    return isinstance(error, (openai.RateLimitError, openai.InternalServerError))
