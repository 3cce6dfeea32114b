"""An OpenAI-compatible chat client for reasoning models, with no Django in it.

One entry point, :func:`stream_chat`, yields typed events; the catalog says
what each model family accepts and costs; the simulator stands in for a
gateway offline. This package could be published on its own.
"""

from .catalog import FAMILIES, GENERIC, ModelFamily, Prices, family_for
from .client import (
    DEFAULT_RETRY,
    NO_RETRY,
    Endpoint,
    RetryPolicy,
    Timeouts,
    list_models,
    stream_chat,
)
from .errors import ProviderError
from .events import Finished, ReasoningDelta, StreamEvent, TextDelta, ToolCallDelta, Usage
from .request import ChatMessage, ChatRequest, ImagePart
from .toolcalls import ToolCall, ToolCallAssembler

__all__ = [
    "DEFAULT_RETRY",
    "FAMILIES",
    "GENERIC",
    "NO_RETRY",
    "ChatMessage",
    "ChatRequest",
    "Endpoint",
    "Finished",
    "ImagePart",
    "ModelFamily",
    "Prices",
    "ProviderError",
    "ReasoningDelta",
    "RetryPolicy",
    "StreamEvent",
    "TextDelta",
    "Timeouts",
    "ToolCall",
    "ToolCallAssembler",
    "ToolCallDelta",
    "Usage",
    "family_for",
    "list_models",
    "stream_chat",
]
