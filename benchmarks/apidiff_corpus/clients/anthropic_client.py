"""An Anthropic integration: client and types (never called)."""

import anthropic
from anthropic import Anthropic
from anthropic.types import Message, TextBlock


def check_client():
    client = Anthropic(api_key="sk-test", max_retries=0)
    assert callable(client.messages.create)
    assert client.with_options(timeout=2.0).timeout == 2.0


def check_types():
    assert "content" in Message.model_fields
    assert TextBlock(type="text", text="hi").text == "hi"
    assert issubclass(anthropic.RateLimitError, anthropic.APIStatusError)
