"""The typed events a completion stream yields, whatever the gateway's wire format."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A fragment of a tool call; fragments with the same index belong together."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    # True when the gateway sent no usage and the counts are our estimate.
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class Finished:
    reason: str


StreamEvent = ReasoningDelta | TextDelta | ToolCallDelta | Usage | Finished
