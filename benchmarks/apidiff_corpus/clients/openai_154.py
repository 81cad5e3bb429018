"""An OpenAI integration: clients and types (clients are built, never called)."""

import openai
from openai import AsyncOpenAI, OpenAI
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam


def check_client():
    client = OpenAI(api_key="sk-test", max_retries=0, timeout=5.0)
    assert callable(client.chat.completions.create)
    assert callable(client.embeddings.create)
    assert client.with_options(timeout=1.0).timeout == 1.0


def check_async_client():
    client = AsyncOpenAI(api_key="sk-test")
    assert callable(client.chat.completions.create)


def check_types():
    message: ChatCompletionMessageParam = {"role": "user", "content": "hi"}
    assert message["role"] == "user"
    assert "choices" in ChatCompletion.model_fields
    assert issubclass(openai.RateLimitError, openai.APIError)
