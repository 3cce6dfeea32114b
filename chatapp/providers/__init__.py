"""An OpenAI-compatible chat client for reasoning models, with no Django in it.

One entry point, :func:`stream_chat`, yields typed events; the catalog says
what each model family accepts and costs; the simulator stands in for a
gateway offline. This package could be published on its own.
"""

from .catalog import FAMILIES, ModelFamily, family_for
from .client import Endpoint, list_models, stream_chat
from .errors import ProviderError
from .events import Finished, ReasoningDelta, StreamEvent, TextDelta, ToolCallDelta, Usage
from .request import ChatMessage, ChatRequest, ImagePart

__all__ = [
    "FAMILIES",
    "ChatMessage",
    "ChatRequest",
    "Endpoint",
    "Finished",
    "ImagePart",
    "ModelFamily",
    "ProviderError",
    "ReasoningDelta",
    "StreamEvent",
    "TextDelta",
    "ToolCallDelta",
    "Usage",
    "family_for",
    "list_models",
    "stream_chat",
]
