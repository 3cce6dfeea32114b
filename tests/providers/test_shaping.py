"""Request shaping: the exact body each family gets, always a valid Chat Completions request."""

import pytest

from chatapp.providers import ChatMessage, ChatRequest, ImagePart, family_for

from .conftest import REQUEST_CONTRACT
from .helpers import image_data_url

RED_PIXEL = image_data_url(1, 1, "#ff0000")
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def everything(model: str, **changes) -> ChatRequest:
    """A conversation that uses every option, so each family shows what it drops."""
    fields = {
        "model": model,
        "messages": (
            ChatMessage("system", "Be terse."),
            ChatMessage("user", "Hi"),
            ChatMessage("assistant", "Hello."),
            ChatMessage("user", "What is in this picture?", images=(ImagePart(RED_PIXEL, "low"),)),
        ),
        "reasoning_effort": "high",
        "max_output_tokens": 5000,
        "json_output": True,
        "tools": (WEATHER_TOOL,),
        "extra": {
            "temperature": 0.2,
            "top_p": 0.9,
            "stop": ["END"],
            "seed": 7,
            "tool_choice": "auto",
        },
    }
    return ChatRequest(**(fields | changes))


STREAMING = {"stream": True, "stream_options": {"include_usage": True}}
HISTORY = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]
QUESTION_WITH_IMAGE = {
    "role": "user",
    "content": [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": RED_PIXEL, "detail": "low"}},
    ],
}
QUESTION_WITHOUT_IMAGE = {"role": "user", "content": "What is in this picture?"}

CASES = {
    "o4-mini keeps images, effort, tools and JSON; drops sampling": (
        everything("openai/o4-mini-2025-04-16"),
        {
            "model": "openai/o4-mini-2025-04-16",
            "messages": [{"role": "system", "content": "Be terse."}, *HISTORY, QUESTION_WITH_IMAGE],
            **STREAMING,
            "reasoning_effort": "high",
            "max_completion_tokens": 5000,
            "response_format": {"type": "json_object"},
            "tools": [WEATHER_TOOL],
            "tool_choice": "auto",
            "seed": 7,
        },
    ),
    "o3-mini has no vision": (
        everything("o3-mini"),
        {
            "model": "o3-mini",
            "messages": [
                {"role": "system", "content": "Be terse."},
                *HISTORY,
                QUESTION_WITHOUT_IMAGE,
            ],
            **STREAMING,
            "reasoning_effort": "high",
            "max_completion_tokens": 5000,
            "response_format": {"type": "json_object"},
            "tools": [WEATHER_TOOL],
            "tool_choice": "auto",
            "seed": 7,
        },
    ),
    "o1-mini: system folded into the first user turn, no effort, tools, JSON or images": (
        everything("o1-mini"),
        {
            "model": "o1-mini",
            "messages": [
                {"role": "user", "content": "Be terse.\n\nHi"},
                {"role": "assistant", "content": "Hello."},
                QUESTION_WITHOUT_IMAGE,
            ],
            **STREAMING,
            "max_completion_tokens": 5000,
            "seed": 7,
        },
    ),
    "o1-mini with only a system message asks it as the user": (
        ChatRequest(model="o1-mini", messages=(ChatMessage("system", "Say hi."),)),
        {"model": "o1-mini", "messages": [{"role": "user", "content": "Say hi."}], **STREAMING},
    ),
    "the output limit is capped at the family's maximum": (
        ChatRequest(
            model="o4-mini",
            messages=(ChatMessage("user", "Long essay"),),
            max_output_tokens=250_000,
        ),
        {
            "model": "o4-mini",
            "messages": [{"role": "user", "content": "Long essay"}],
            **STREAMING,
            "max_completion_tokens": 100_000,
        },
    ),
    "no effort chosen sends none": (
        ChatRequest(model="o4-mini", messages=(ChatMessage("user", "Hi"),)),
        {"model": "o4-mini", "messages": [{"role": "user", "content": "Hi"}], **STREAMING},
    ),
    "an unknown model keeps sampling and uses max_tokens": (
        everything("llama3.1:8b"),
        {
            "model": "llama3.1:8b",
            "messages": [
                {"role": "system", "content": "Be terse."},
                *HISTORY,
                QUESTION_WITHOUT_IMAGE,
            ],
            **STREAMING,
            "max_tokens": 5000,
            "temperature": 0.2,
            "top_p": 0.9,
            "stop": ["END"],
            "seed": 7,
        },
    ),
}


@pytest.mark.parametrize(("request_", "expected"), CASES.values(), ids=CASES.keys())
def test_each_family_gets_exactly_the_body_it_accepts(request_, expected):
    body = family_for(request_.model).shape(request_)

    assert body == expected
    REQUEST_CONTRACT.validate(body)


def test_extra_parameters_cannot_undo_the_shaping():
    request = ChatRequest(
        model="o4-mini",
        messages=(ChatMessage("user", "Hi"),),
        extra={"max_tokens": 10, "stream": False, "model": "gpt-4o", "reasoning_effort": "max"},
    )

    body = family_for("o4-mini").shape(request)

    assert body == {
        "model": "o4-mini",
        "messages": [{"role": "user", "content": "Hi"}],
        **STREAMING,
    }
