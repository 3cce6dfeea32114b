"""Turn decoded stream chunks from any OpenAI-compatible gateway into typed events.

Gateways disagree on where reasoning goes (``reasoning_content``,
``reasoning``, ``reasoning_details[]``, or ``<think>`` tags inside content);
this is the one place that knows all of them.
"""

from collections.abc import Iterator

from .events import ReasoningDelta, StreamEvent, TextDelta, ToolCallDelta, Usage

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"


class ThinkTagSplitter:
    """Split content that carries ``<think>…</think>`` into reasoning and answer.

    Tags may be cut anywhere across chunks, so a tail that could be the start
    of a tag is held back until the next chunk decides it. Servers put the
    reasoning before the answer; once the answer has begun, a tag in it is
    text the answer quotes (taken for reasoning, it hid the rest of the answer).
    """

    def __init__(self) -> None:
        self._pending = ""
        self._inside = False
        # Models put blank lines after </think>; they are not part of the answer.
        self._just_closed = False
        self._answering = False

    def feed(self, text: str) -> Iterator[StreamEvent]:
        buffer = self._pending + text
        self._pending = ""
        while buffer:
            if self._answering:
                yield from self._emit(buffer)
                return
            tag = CLOSE_TAG if self._inside else OPEN_TAG
            position = buffer.find(tag)
            if position < 0:
                keep = _partial_tag_suffix(buffer, tag)
                yield from self._emit(buffer[: len(buffer) - keep])
                self._pending = buffer[len(buffer) - keep :]
                return
            yield from self._emit(buffer[:position])
            if self._answering:  # the text before it began the answer
                buffer = buffer[position:]
                continue
            buffer = buffer[position + len(tag) :]
            self._inside = not self._inside
            self._just_closed = not self._inside

    def flush(self) -> Iterator[StreamEvent]:
        pending, self._pending = self._pending, ""
        yield from self._emit(pending)

    def _emit(self, text: str) -> Iterator[StreamEvent]:
        if self._inside:
            if text:
                yield ReasoningDelta(text)
            return
        if self._just_closed:
            text = text.lstrip("\n")
        if text:
            self._just_closed = False
            # Whitespace alone may still precede a leading <think>.
            self._answering = self._answering or not text.isspace()
            yield TextDelta(text)


def _partial_tag_suffix(buffer: str, tag: str) -> int:
    """Length of the longest end of ``buffer`` that begins ``tag``."""
    if "<" not in buffer[1 - len(tag) :]:  # nearly every chunk: no tag can start there
        return 0
    for length in range(min(len(tag) - 1, len(buffer)), 0, -1):
        if tag.startswith(buffer[-length:]):
            return length
    return 0


class ChunkParser:
    """Stateful: feed it each decoded chunk of one stream, in order.

    Usage is kept, not yielded: some gateways repeat a running total on every
    chunk, so only the last one counts, and the client reports it at the end.
    """

    def __init__(self) -> None:
        self.think = ThinkTagSplitter()
        self.finish_reason: str | None = None
        self.usage: Usage | None = None

    def feed(self, chunk: dict) -> Iterator[StreamEvent]:
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = usage_from_dict(usage) or self.usage
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            return
        for choice in choices:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or choice.get("message") or {}
            if isinstance(delta, dict):
                yield from self._delta_events(delta)
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])

    def flush(self) -> Iterator[StreamEvent]:
        yield from self.think.flush()

    def _delta_events(self, delta: dict) -> Iterator[StreamEvent]:
        for key in ("reasoning_content", "reasoning"):
            value = delta.get(key)
            if isinstance(value, str) and value:
                yield ReasoningDelta(value)
                break
        else:
            details = delta.get("reasoning_details")
            if isinstance(details, list):
                for detail in details:
                    text = _reasoning_detail_text(detail)
                    if text:
                        yield ReasoningDelta(text)
        content = delta.get("content")
        if isinstance(content, str) and content:
            yield from self.think.feed(content)
        # OpenAI sends a refusal here with content null; it is what the person must read.
        refusal = delta.get("refusal")
        if isinstance(refusal, str) and refusal:
            yield TextDelta(refusal)
        tool_calls = delta.get("tool_calls")
        if isinstance(tool_calls, list):
            for position, call in enumerate(tool_calls):
                if isinstance(call, dict):
                    yield _tool_call_delta(call, position)


def _reasoning_detail_text(detail: object) -> str:
    # OpenRouter: reasoning.text and reasoning.summary carry text; reasoning.encrypted does not.
    if not isinstance(detail, dict):
        return ""
    for key in ("text", "summary"):
        value = detail.get(key)
        if isinstance(value, str):
            return value
    return ""


def _tool_call_delta(call: dict, position: int) -> ToolCallDelta:
    """A call's fragment; ``position`` in its list stands in for a missing ``index``.

    Deltas carry ``index``; a whole message's ``tool_calls`` (a gateway that
    ignores ``stream: true``) do not, and as index 0 each, they merged into one.
    """
    function = call.get("function") if isinstance(call.get("function"), dict) else {}
    arguments = function.get("arguments")
    index = call.get("index")
    return ToolCallDelta(
        index=index if isinstance(index, int) else position,
        id=call.get("id") if isinstance(call.get("id"), str) else None,
        name=function.get("name") if isinstance(function.get("name"), str) else None,
        arguments=arguments if isinstance(arguments, str) else "",
    )


# More tokens than any request could hold: a gateway's garbage, not a count.
# Taken as is, it overflowed the usage row and its cost, and the answer was lost.
MAX_TOKEN_COUNT = 100_000_000


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKEN_COUNT


def _int(value: object) -> int:
    return value if _is_count(value) else 0


def usage_from_dict(usage: dict) -> Usage | None:
    """The gateway's usage; None if its main counts are there but are not counts.

    Such a report is not taken as zero: the answer would be billed nothing.
    Our own estimate stands in for it, marked as one. A count left out is 0.
    """
    main = [usage.get(name) for name in ("prompt_tokens", "completion_tokens")]
    if any(value is not None and not _is_count(value) for value in main):
        return None
    prompt_details = usage.get("prompt_tokens_details")
    completion_details = usage.get("completion_tokens_details")
    return Usage(
        prompt_tokens=_int(usage.get("prompt_tokens")),
        completion_tokens=_int(usage.get("completion_tokens")),
        cached_tokens=_int(prompt_details.get("cached_tokens"))
        if isinstance(prompt_details, dict)
        else 0,
        reasoning_tokens=_int(completion_details.get("reasoning_tokens"))
        if isinstance(completion_details, dict)
        else 0,
    )


def tokens_for_chars(count: int) -> int:
    """A rough count (four characters a token) for when a gateway sends no usage."""
    return (count + 3) // 4


def estimate_tokens(text: str) -> int:
    return tokens_for_chars(len(text))


# Per message framing, and a high-detail 1024-pixel image in OpenAI's tile count.
MESSAGE_OVERHEAD_TOKENS = 4
IMAGE_ESTIMATE_TOKENS = 765


def estimate_prompt_tokens(messages: list[dict]) -> int:
    """A rough prompt size from wire messages; images count as a typical image, not bytes."""
    total = 0
    for message in messages:
        total += MESSAGE_OVERHEAD_TOKENS
        content = message.get("content")
        parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
        for part in parts:
            if part.get("type") == "image_url":
                total += IMAGE_ESTIMATE_TOKENS
            elif isinstance(part.get("text"), str):
                total += estimate_tokens(part["text"])
    return total
