"""Join streamed tool-call fragments into whole calls.

Gateways send a call's id and name once and its JSON arguments in pieces,
each tagged with the call's index; only the joined text is valid JSON.
"""

import json
from dataclasses import dataclass

from .events import ToolCallDelta


@dataclass(slots=True)
class ToolCall:
    index: int
    id: str | None = None
    name: str = ""
    arguments: str = ""

    def parsed_arguments(self) -> dict | None:
        """The arguments as an object, or None while (or if) they are not valid JSON."""
        try:
            value = json.loads(self.arguments or "{}")
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


class ToolCallAssembler:
    """Feed it every ToolCallDelta of one stream; read ``calls`` at the end."""

    def __init__(self) -> None:
        self._calls: dict[int, ToolCall] = {}

    def add(self, delta: ToolCallDelta) -> ToolCall:
        call = self._calls.setdefault(delta.index, ToolCall(index=delta.index))
        call.id = call.id or delta.id
        # Sent with the first fragment; some gateways repeat it on later ones.
        call.name = call.name or delta.name or ""
        call.arguments += delta.arguments
        return call

    @property
    def calls(self) -> list[ToolCall]:
        return [self._calls[index] for index in sorted(self._calls)]
