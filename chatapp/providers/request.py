"""What the app asks for, before it is shaped into one gateway's request body."""

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ImagePart:
    data_url: str
    detail: Literal["low", "high", "auto"] = "auto"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str
    images: tuple[ImagePart, ...] = ()


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    messages: tuple[ChatMessage, ...]
    reasoning_effort: Literal["low", "medium", "high"] | None = None
    max_output_tokens: int | None = None
    json_output: bool = False
    # Function tools in Chat Completions form; dropped for families without tools.
    tools: tuple[dict, ...] = ()
    # Further Chat Completions parameters (temperature, stop, seed, tool_choice…);
    # shaping drops those the model family refuses.
    extra: dict = field(default_factory=dict)
