"""Wire-format cases found in review: what the person sees for answers gateways may send."""

import json

import pytest

from chatapp.providers import NO_RETRY, ChatMessage, ChatRequest, Endpoint, stream_chat

from .helpers import FAST_RETRY, collect, endpoint_at
from .scripted import Answer

REQUEST = ChatRequest(model="openai/o4-mini", messages=(ChatMessage("user", "Hello"),))


def sse(*chunks: dict) -> Answer:
    """A stream of OpenAI-style chunks (raw UTF-8, as gateways send), ended by [DONE]."""
    events = [f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n" for chunk in chunks]
    return Answer(body=("".join(events) + "data: [DONE]\n\n").encode())


def delta(finish: str | None = None, **fields) -> dict:
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": finish}]}


def completion(message: dict, finish: str = "stop") -> Answer:
    """A whole (non-streamed) completion, as a gateway that ignores ``stream: true`` sends."""
    return Answer.json(
        {
            "id": "chatcmpl-abc123",
            "object": "chat.completion",
            "created": 1776947082,
            "model": "openai/o4-mini",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 24, "completion_tokens": 12, "total_tokens": 36},
        }
    )


async def test_every_tool_call_of_a_whole_completion_is_kept(gateway):
    """Seed 003's non-streamed ``message.tool_calls`` carry no ``index`` (only deltas do).

    Read as index 0 each, two calls were merged into one whose arguments were
    ``{"city":"Tokyo"}{"city":"Paris"}``: neither call could be made.
    """
    calls = [
        {
            "id": call_id,
            "type": "function",
            "function": {"name": "get_weather", "arguments": json.dumps({"city": city})},
        }
        for call_id, city in (("call_abc", "Tokyo"), ("call_def", "Paris"))
    ]
    gateway.will_answer(
        completion({"role": "assistant", "content": None, "tool_calls": calls}, "tool_calls")
    )

    transcript = await collect(stream_chat(endpoint_at(gateway, "AIgateway"), REQUEST))

    assert transcript.error is None
    assert [(c.id, c.name, c.parsed_arguments()) for c in transcript.tool_calls] == [
        ("call_abc", "get_weather", {"city": "Tokyo"}),
        ("call_def", "get_weather", {"city": "Paris"}),
    ]
    assert transcript.finish == "tool_calls"


REFUSAL = "I'm sorry, but I can't help with that."
REFUSALS = {
    "streamed": sse(
        delta(role="assistant", content=None, refusal=""),
        delta(refusal="I'm sorry, but "),
        delta(refusal="I can't help with that."),
        delta(finish="stop"),
    ),
    "whole completion": completion({"role": "assistant", "content": None, "refusal": REFUSAL}),
}


@pytest.mark.parametrize("answer", REFUSALS.values(), ids=REFUSALS.keys())
async def test_a_refusal_is_shown_not_an_empty_answer(gateway, answer):
    """OpenAI sends a refusal in ``refusal`` with ``content: null`` (the contract's delta
    and message both have it; seeds 001 and 002 show ``'refusal': None``)."""
    gateway.will_answer(answer)

    transcript = await collect(stream_chat(endpoint_at(gateway, "OpenAI"), REQUEST))

    assert transcript.error is None
    assert transcript.answer == REFUSAL
    assert transcript.finish == "stop"


QUOTED_TAGS = {
    "both tags": ["Reasoning models wrap ", "their thoughts in `<th", "ink>` and `</think>`."],
    "an opening tag only": ["Strip everything after `<think>`", " up to the closing tag."],
}


@pytest.mark.parametrize("pieces", QUOTED_TAGS.values(), ids=QUOTED_TAGS.keys())
async def test_a_think_tag_quoted_in_the_answer_stays_in_the_answer(gateway, pieces):
    """Servers without a reasoning parser put ``<think>…</think>`` before the answer;
    a tag the answer itself mentions is text. Taken for reasoning, it hid the rest of
    the answer (all of it, for an opening tag with no closing one)."""
    gateway.will_answer(sse(*(delta(content=piece) for piece in pieces), delta(finish="stop")))

    transcript = await collect(stream_chat(endpoint_at(gateway, "OpenAI"), REQUEST))

    assert transcript.error is None
    assert transcript.reasoning == ""
    assert transcript.answer == "".join(pieces)


DEEPLY_NESTED = "[" * 100_000
NESTED_ANSWERS = {
    "a stream chunk": (
        Answer(body=f"data: {DEEPLY_NESTED}\n\n".encode()),
        "Gateway sent a malformed piece of the answer, so it was cut off.",
    ),
    "a whole completion": (
        Answer(200, DEEPLY_NESTED.encode(), "application/json"),
        "Gateway sent a malformed piece of the answer, so it was cut off.",
    ),
    "an error body": (
        Answer(400, f'{{"error": {DEEPLY_NESTED}'.encode(), "application/json"),
        "Gateway rejected the request as invalid.",
    ),
}


@pytest.mark.parametrize(("answer", "message"), NESTED_ANSWERS.values(), ids=NESTED_ANSWERS.keys())
async def test_absurdly_nested_json_is_a_clear_error_not_a_crash(gateway, answer, message):
    """Python's JSON parser raises RecursionError, not ValueError, on deep nesting."""
    gateway.will_answer(answer)

    transcript = await collect(
        stream_chat(endpoint_at(gateway, "Gateway"), REQUEST, retry=NO_RETRY)
    )

    assert transcript.error is not None
    assert transcript.error.message == message


PASTED_KEYS = {
    "trailing space": "sk-test-4f1c9b7e2d8a6035 ",
    "leading space": " sk-test-4f1c9b7e2d8a6035",
    "trailing tab": "sk-test-4f1c9b7e2d8a6035\t",
}


@pytest.mark.parametrize("key", PASTED_KEYS.values(), ids=PASTED_KEYS.keys())
async def test_a_key_pasted_with_a_space_is_named_as_the_problem(gateway, key):
    """A header value cannot end in whitespace (RFC 9110 5.5): h11 refused to send it
    and the person read "The connection ... broke off", retried as if the network failed."""
    gateway.will_answer(Answer.recording("openai-o4-mini.sse"))
    endpoint = Endpoint("AIgateway", gateway.base_url, key)

    transcript = await collect(stream_chat(endpoint, REQUEST, retry=NO_RETRY))

    assert transcript.error.code == "invalid_api_key"
    assert transcript.error.message.startswith(
        "The API key configured for AIgateway contains a character a key cannot have"
    )
    assert gateway.received == [], "not sent"


ANSWER_CHUNKS = (delta(content="Café "), delta(finish="stop", content="au lait"))
STREAM_ENCODINGS = {
    "a byte order mark first": (b"\xef\xbb\xbf" + sse(*ANSWER_CHUNKS).body, "text/event-stream"),
    "labelled with another charset": (
        sse(*ANSWER_CHUNKS).body,
        "text/event-stream; charset=iso-8859-1",
    ),
}


@pytest.mark.parametrize(("body", "content_type"), STREAM_ENCODINGS.values(), ids=STREAM_ENCODINGS)
async def test_an_event_stream_is_read_as_utf8_whatever_it_starts_with_or_claims(
    gateway, body, content_type
):
    """The SSE standard decodes every stream as UTF-8, dropping a leading BOM: kept, the
    BOM made the first line no "data:" field and the start of the answer was lost."""
    gateway.will_answer(Answer(body=body, content_type=content_type))

    transcript = await collect(stream_chat(endpoint_at(gateway), REQUEST, retry=NO_RETRY))

    assert transcript.error is None
    assert transcript.answer == "Café au lait"


INVALID_REQUESTS = {
    "a conversation past the context window (OpenAI)": (
        {
            "error": {
                "message": "This model's maximum context length is 200000 tokens. However, your "
                "messages resulted in 212345 tokens. Please reduce the length of the messages.",
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded",
            }
        },
        "Gateway rejected the request: the conversation is too long for this model. Start a "
        "new conversation, or pick a model with a larger context. (This model's maximum context",
    ),
    "an image to a model without vision (the simulator's own body)": (
        {
            "error": {
                "message": "Invalid content type. image_url is only supported by certain models.",
                "type": "invalid_request_error",
                "param": "messages[1].content",
                "code": "invalid_value",
            }
        },
        "Gateway rejected the request: the value of 'messages[1].content' is not valid.",
    ),
    "a value out of range": (
        {
            "error": {
                "message": "Invalid 'max_completion_tokens': integer below minimum value.",
                "type": "invalid_request_error",
                "param": "max_completion_tokens",
                "code": "integer_below_min_value",
            }
        },
        "Gateway rejected the request: the value of 'max_completion_tokens' is not valid.",
    ),
}


@pytest.mark.parametrize(
    ("body", "message"), INVALID_REQUESTS.values(), ids=INVALID_REQUESTS.keys()
)
async def test_a_parameter_named_in_an_error_is_not_called_unsupported_unless_it_is(
    gateway, body, message
):
    """Every 400 naming a ``param`` read "the parameter 'messages' is not supported", also
    when the conversation had only grown too long: the person could not tell what to do."""
    gateway.will_answer(Answer.error(400, body))

    transcript = await collect(stream_chat(endpoint_at(gateway, "Gateway"), REQUEST))

    assert transcript.error.message.startswith(message)
    assert "not supported" not in transcript.error.message.split("(")[0]
    assert not transcript.error.retryable


@pytest.mark.parametrize("value", ["inf", "Infinity", "1e999"])
async def test_a_retry_after_that_is_no_number_of_seconds_is_ignored(gateway, value):
    """Retry-After is digits or an HTTP date (RFC 9110 10.2.3); Python's float() also takes
    "inf", and the person read "Try again in inf s."."""
    gateway.will_answer(
        Answer.error(429, {"error": {"message": "Slow down"}}, {"Retry-After": value})
    )

    transcript = await collect(
        stream_chat(endpoint_at(gateway, "Gateway"), REQUEST, retry=NO_RETRY)
    )

    assert transcript.error.message == "Gateway is rate limiting requests. Try again shortly."
    assert transcript.error.retry_after is None


@pytest.mark.parametrize("status", [520, 521, 522, 523, 529])
async def test_a_cdn_or_overload_status_before_any_text_is_tried_again(gateway, status):
    """Gateways behind Cloudflare answer 520 to 523 when its link to them fails for a
    moment, and some answer 529 when overloaded: the member saw an error at once."""
    gateway.will_answer(
        Answer(status, b"<html>error code: %d</html>" % status, "text/html"),
        sse(delta(content="Hello"), delta("stop")),
    )

    transcript = await collect(
        stream_chat(endpoint_at(gateway, "Gateway"), REQUEST, retry=FAST_RETRY)
    )

    assert transcript.error is None
    assert transcript.answer == "Hello"


async def test_a_done_with_trailing_spaces_still_ends_the_answer(gateway):
    body = sse(delta(content="Hello"), delta("stop")).body.replace(
        b"data: [DONE]\n", b"data: [DONE]  \n"
    )
    gateway.will_answer(Answer(body=body))

    transcript = await collect(stream_chat(endpoint_at(gateway, "Gateway"), REQUEST))

    assert transcript.error is None
    assert transcript.answer == "Hello"
