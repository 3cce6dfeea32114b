"""Streams that real gateways send, odd or broken, through real HTTP.

Whatever the wire format, the person sees the same reasoning and answer; when
a stream breaks, what already arrived stays and the error says what happened.
"""

import pytest

from chatapp.providers import NO_RETRY, ChatMessage, ChatRequest, stream_chat

from .helpers import collect, endpoint_at
from .scripted import Answer

QUESTION = "Why do reasoning models think first?"


def ask(text: str = QUESTION, model: str = "o4-mini") -> ChatRequest:
    return ChatRequest(model=model, messages=(ChatMessage("user", text),), reasoning_effort="low")


async def with_fault(simulator, fault: str, **timeouts: float):
    """Ask with ``#fault:<name>`` in the message, as a person in the browser would."""
    endpoint = endpoint_at(simulator, "Simulator", **timeouts)
    return await collect(stream_chat(endpoint, ask(f"{QUESTION} #fault:{fault}"), retry=NO_RETRY))


@pytest.fixture
async def baseline(simulator):
    """The same question answered normally: reasoning under reasoning_content."""
    return await collect(stream_chat(endpoint_at(simulator), ask(f"{QUESTION} #fault:no-usage")))


@pytest.mark.parametrize("fault", ["think-tags", "reasoning-field"])
async def test_reasoning_reads_the_same_in_every_format(simulator, baseline, fault):
    transcript = await with_fault(simulator, fault)

    assert transcript.error is None
    assert transcript.reasoning == baseline.reasoning
    assert transcript.answer == baseline.answer
    assert "think>" not in transcript.answer
    assert transcript.reasoning_came_first()


async def test_without_reasoning_text_only_the_token_count_remains(simulator, baseline):
    transcript = await with_fault(simulator, "no-reasoning")

    assert transcript.reasoning == ""
    assert transcript.answer == baseline.answer
    assert transcript.usage.reasoning_tokens > 0
    assert not transcript.usage.estimated


@pytest.mark.parametrize("fault", ["no-usage", "bad-usage"])
async def test_missing_or_unreadable_usage_is_estimated_and_marked_so(simulator, fault):
    complete = await collect(stream_chat(endpoint_at(simulator), ask()))
    transcript = await with_fault(simulator, fault)

    assert transcript.error is None
    assert transcript.finish == "stop"
    assert transcript.usage.estimated
    assert not complete.usage.estimated
    # Four characters a token: close to what the simulator itself counts.
    for field in ("completion_tokens", "reasoning_tokens"):
        estimate, counted = getattr(transcript.usage, field), getattr(complete.usage, field)
        assert abs(estimate - counted) <= counted * 0.1, field


BROKEN_STREAMS = {
    "reset": ("connection_lost", "The connection to Simulator broke off during the answer."),
    "malformed": (
        "malformed_chunk",
        "Simulator sent a malformed piece of the answer, so it was cut off.",
    ),
    "error-event": (
        "server_error",
        "Simulator reported an error during the answer: "
        "The upstream provider failed during generation.",
    ),
    "no-done": (
        "incomplete_stream",
        "The connection to Simulator ended before the answer was complete.",
    ),
}


@pytest.mark.parametrize(("fault", "expected"), BROKEN_STREAMS.items(), ids=BROKEN_STREAMS.keys())
async def test_a_broken_stream_keeps_the_partial_answer(simulator, baseline, fault, expected):
    transcript = await with_fault(simulator, fault)

    assert (transcript.error.code, transcript.error.message) == expected
    assert transcript.reasoning == baseline.reasoning
    assert transcript.answer, "the answer had started"
    assert baseline.answer.startswith(transcript.answer)
    assert transcript.finish is None, "a broken answer is never reported as finished"


async def test_a_stream_that_stalls_is_given_up_after_the_read_timeout(simulator, baseline):
    transcript = await with_fault(simulator, "stall", read=0.3)

    assert transcript.error.code == "read_timeout"
    assert (
        transcript.error.message == "Simulator sent nothing for 0.3 s, so the answer was given up."
    )
    assert transcript.answer and baseline.answer.startswith(transcript.answer)


async def test_a_mid_stream_error_event_from_openrouter(gateway):
    gateway.will_answer(Answer.recording("openrouter-error-mid-stream.sse"))

    transcript = await collect(stream_chat(endpoint_at(gateway, "OpenRouter"), ask()))

    assert transcript.answer == "The first part of the answer"
    assert transcript.error.message == (
        "OpenRouter reported an error during the answer: Provider disconnected unexpectedly"
    )
    assert transcript.error.status == 502
    assert len(gateway.received) == 1, "never replayed once the answer had started"


async def test_a_gateway_that_ignores_stream_true_still_answers(gateway):
    gateway.will_answer(
        Answer.json(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1776947082,
                "model": "openai/o4-mini",
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": "Hello! How can I help you today?",
                            "reasoning_content": "The user asked...",
                        },
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 24, "completion_tokens": 12, "total_tokens": 36},
            }
        )
    )

    transcript = await collect(stream_chat(endpoint_at(gateway, "AIgateway"), ask()))

    assert transcript.reasoning == "The user asked..."
    assert transcript.answer == "Hello! How can I help you today?"
    assert (transcript.usage.prompt_tokens, transcript.usage.completion_tokens) == (24, 12)


async def test_a_page_that_is_not_a_stream_is_a_clear_error(gateway):
    gateway.will_answer(Answer(200, b"<html>Sign in to the Wi-Fi</html>", "text/html"))

    transcript = await collect(stream_chat(endpoint_at(gateway, "AIgateway"), ask()))

    assert transcript.error.message == "AIgateway did not answer with a stream."
    assert transcript.answer == ""


async def test_a_fault_named_in_the_message_is_not_echoed_into_the_answer(simulator):
    transcript = await with_fault(simulator, "think-tags")

    assert "#fault" not in transcript.reasoning + transcript.answer


async def test_an_unknown_fault_name_lists_the_known_ones(simulator):
    transcript = await with_fault(simulator, "meltdown")

    assert transcript.error.status == 400
    assert "Unknown simulator fault 'meltdown'. Known faults: 401, 402" in transcript.error.message
