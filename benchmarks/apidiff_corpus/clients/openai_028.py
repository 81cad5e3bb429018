"""Error handling of an OpenAI integration written for openai 0.28."""

import openai


def check_module_key():
    openai.api_key = "sk-test"
    assert openai.api_key == "sk-test"


def check_error_module():
    from openai.error import APIError, RateLimitError

    assert issubclass(RateLimitError, Exception) and APIError
