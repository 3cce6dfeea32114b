"""Each gateway and model of the mission, replayed from a recorded stream over real HTTP.

One row per gateway and model: the reasoning text, the answer, the usage and
the finish reason a person would see, and the body the client sent.
"""

from dataclasses import dataclass

import pytest

from chatapp.providers import ChatMessage, ChatRequest, Usage, family_for, stream_chat

from .helpers import collect, endpoint_at
from .scripted import Answer


@dataclass(frozen=True)
class Row:
    recording: str
    gateway: str
    model: str
    reasoning: str
    answer: str
    # None: the gateway sent no usage, so it must be an estimate.
    usage: Usage | None
    finish: str = "stop"


ROWS = {
    "aimlapi-o4-mini": Row(
        "aimlapi-o4-mini.sse",
        "AI/ML API",
        "openai/o4-mini-2025-04-16",
        reasoning="",
        answer=(
            "17 times 24 is **408**.\n\n- 17 times 20 is 340\n- 17 times 4 is 68\n- 340 + 68 = 408"
        ),
        usage=Usage(prompt_tokens=26, completion_tokens=283, reasoning_tokens=256),
    ),
    "aimlapi-o3-mini": Row(
        "aimlapi-o3-mini.sse",
        "AI/ML API",
        "o3-mini",
        reasoning="",
        answer=(
            'Use `sorted(items, key=len)`:\n\n```python\nsorted(["ccc", "a", "bb"], key=len)\n```'
        ),
        usage=Usage(
            prompt_tokens=1210, completion_tokens=587, reasoning_tokens=512, cached_tokens=1024
        ),
    ),
    "aimlapi-o3-mini-out-of-output-tokens": Row(
        "aimlapi-o3-mini-length.sse",
        "AI/ML API",
        "o3-mini",
        reasoning="",
        answer="",
        usage=Usage(prompt_tokens=40, completion_tokens=128, reasoning_tokens=128),
        finish="length",
    ),
    "aimlapi-o1-mini": Row(
        "aimlapi-o1-mini.sse",
        "AI/ML API",
        "o1-mini",
        reasoning="",
        answer="Hello! 😊 How can I help you today?",
        usage=Usage(prompt_tokens=57, completion_tokens=2167, reasoning_tokens=64),
    ),
    "aigateway-o4-mini": Row(
        "aigateway-o4-mini.sse",
        "AIgateway",
        "openai/o4-mini",
        reasoning="The user wants a greeting back. Keep it short.",
        answer="Hello! How can I help you today?",
        usage=None,
    ),
    "cometapi-o4-mini": Row(
        "cometapi-o4-mini.sse",
        "CometAPI",
        "o4-mini",
        reasoning="",
        answer="Efficient reasoning models think before they answer, at a fraction of the cost.",
        usage=Usage(prompt_tokens=19, completion_tokens=339, reasoning_tokens=320),
    ),
    "openai-o4-mini": Row(
        "openai-o4-mini.sse",
        "OpenAI",
        "o4-mini",
        reasoning="",
        answer="The capital of Australia is **Canberra**.",
        usage=Usage(prompt_tokens=14, completion_tokens=203, reasoning_tokens=192),
    ),
    "openrouter-o4-mini": Row(
        "openrouter-o4-mini.sse",
        "OpenRouter",
        "openai/o4-mini",
        reasoning="**Comparing numbers**\n\n9.11 has a smaller tenths digit than 9.9.",
        answer="9.9 is larger: 0.90 > 0.11.",
        usage=Usage(prompt_tokens=21, completion_tokens=215, reasoning_tokens=192),
    ),
    "reasoning-details-only": Row(
        "reasoning-details-only.sse",
        "OpenRouter",
        "openai/o3-mini",
        reasoning="Primes below 10: 2, 3, 5, 7.",
        answer="There are **4** primes below 10.",
        usage=Usage(prompt_tokens=12, completion_tokens=96, reasoning_tokens=80),
    ),
    "vllm-think-tags": Row(
        "vllm-think-tags.sse",
        "vLLM",
        "Qwen/QwQ-32B",
        reasoning="\n2 + 2 is 4.\n",
        answer="2 + 2 = 4.",
        usage=Usage(prompt_tokens=18, completion_tokens=22),
    ),
    "cometapi-ends-without-done": Row(
        "ends-without-done.sse",
        "CometAPI",
        "o4-mini",
        reasoning="",
        answer="Efficient reasoning models think before they answer, at a fraction of the cost.",
        usage=Usage(prompt_tokens=19, completion_tokens=339, reasoning_tokens=320),
    ),
}


def conversation(model: str) -> ChatRequest:
    return ChatRequest(
        model=model,
        messages=(
            ChatMessage("system", "Answer briefly."),
            ChatMessage("user", "A question for the recording."),
        ),
        reasoning_effort="high",
        max_output_tokens=4096,
    )


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
async def test_the_person_sees_what_the_gateway_streamed(gateway, row):
    gateway.will_answer(Answer.recording(row.recording))

    transcript = await collect(
        stream_chat(endpoint_at(gateway, row.gateway), conversation(row.model))
    )

    assert transcript.error is None
    assert transcript.reasoning == row.reasoning
    assert transcript.answer == row.answer
    assert transcript.finish == row.finish
    if row.usage is None:
        assert transcript.usage.estimated
        assert transcript.usage.reasoning_tokens > 0
        assert transcript.usage.completion_tokens > transcript.usage.reasoning_tokens
    else:
        assert transcript.usage == row.usage


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
async def test_the_gateway_receives_its_own_model_id_shaped_for_the_family(gateway, row):
    gateway.will_answer(Answer.recording(row.recording))

    await collect(stream_chat(endpoint_at(gateway, row.gateway), conversation(row.model)))

    [received] = gateway.received
    assert received.headers["authorization"].startswith("Bearer sk-test-")
    assert received.body == family_for(row.model).shape(conversation(row.model))
    assert received.body["model"] == row.model


async def test_tool_call_fragments_are_joined_by_index(gateway):
    gateway.will_answer(Answer.recording("aigateway-o4-mini-tools.sse"))
    request = ChatRequest(
        model="openai/o4-mini",
        messages=(ChatMessage("user", "Weather in Tokyo and Paris?"),),
        tools=(
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Get current weather for a city",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    },
                },
            },
        ),
    )

    transcript = await collect(stream_chat(endpoint_at(gateway, "AIgateway"), request))

    assert transcript.reasoning == "Two cities: call get_weather for each."
    assert transcript.finish == "tool_calls"
    calls = [(c.id, c.name, c.parsed_arguments()) for c in transcript.tool_calls]
    assert calls == [
        ("call_abc", "get_weather", {"city": "Tokyo"}),
        ("call_def", "get_weather", {"city": "Paris"}),
    ]
    assert gateway.received[0].body["tools"] == list(request.tools)
