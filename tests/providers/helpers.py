"""What a test reads off a stream: the texts, usage and ending a person would see."""

import base64
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from PIL import Image

from chatapp.providers import (
    Endpoint,
    Finished,
    ProviderError,
    ReasoningDelta,
    RetryPolicy,
    StreamEvent,
    TextDelta,
    Timeouts,
    ToolCall,
    ToolCallAssembler,
    ToolCallDelta,
    Usage,
)

API_KEY = "sk-test-4f1c9b7e2d8a6035"
# Retries as in production, minus the waiting.
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=2.0)


def image_data_url(width: int, height: int, colour: str, format: str = "PNG") -> str:
    """A solid image, as the app sends attachments: a base64 data URL."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f"data:image/{format.lower()};base64,{encoded}"


def endpoint_at(server, name: str = "Test gateway", **timeouts: float) -> Endpoint:
    return Endpoint(
        name=name, base_url=server.base_url, api_key=API_KEY, timeouts=Timeouts(**timeouts)
    )


@dataclass
class Transcript:
    events: list[StreamEvent] = field(default_factory=list)
    error: ProviderError | None = None
    tools: ToolCallAssembler = field(default_factory=ToolCallAssembler)

    @property
    def reasoning(self) -> str:
        return "".join(e.text for e in self.events if isinstance(e, ReasoningDelta))

    @property
    def answer(self) -> str:
        return "".join(e.text for e in self.events if isinstance(e, TextDelta))

    @property
    def usage(self) -> Usage | None:
        usages = [e for e in self.events if isinstance(e, Usage)]
        assert len(usages) <= 1, "a stream reports usage once"
        return usages[0] if usages else None

    @property
    def finish(self) -> str | None:
        return next((e.reason for e in self.events if isinstance(e, Finished)), None)

    @property
    def tool_calls(self) -> list[ToolCall]:
        return self.tools.calls

    def reasoning_came_first(self) -> bool:
        kinds = [type(e) for e in self.events if isinstance(e, ReasoningDelta | TextDelta)]
        return ReasoningDelta in kinds and kinds == sorted(kinds, key=lambda k: k is TextDelta)


async def collect(stream: AsyncIterator[StreamEvent]) -> Transcript:
    """Read a whole stream; an error ends it, and what came before is kept, as the app does."""
    transcript = Transcript()
    try:
        async for event in stream:
            transcript.events.append(event)
            if isinstance(event, ToolCallDelta):
                transcript.tools.add(event)
    except ProviderError as error:
        transcript.error = error
    return transcript
