"""Model families as data: what each accepts, how large it is, what it costs.

Request shaping reads these flags instead of branching on model names, so a
new family is one entry here, and an unknown id still gets a sane request.
"""

import re
from dataclasses import dataclass, replace
from decimal import Decimal

from .request import ChatMessage, ChatRequest

EFFORTS = ("low", "medium", "high")
# Set from the request's own fields, so ``extra`` cannot contradict them.
SHAPED_PARAMETERS = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "reasoning_effort",
        "max_tokens",
        "max_completion_tokens",
        "response_format",
        "tools",
    }
)
# Reasoning models refuse these (or accept only their defaults).
SAMPLING_PARAMETERS = frozenset(
    {
        "temperature",
        "top_p",
        "stop",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
    }
)
TOOL_PARAMETERS = frozenset({"tool_choice", "parallel_tool_calls", "functions", "function_call"})


@dataclass(frozen=True, slots=True)
class Capabilities:
    vision: bool = False
    tools: bool = False
    reasoning_effort: bool = False
    system_role: bool = True
    json_schema: bool = False
    streaming: bool = True
    # o-series refuse temperature/top_p/stop and want max_completion_tokens;
    # older OpenAI-compatible servers only know max_tokens.
    sampling_parameters: bool = True


@dataclass(frozen=True, slots=True)
class Prices:
    """US dollars per million tokens."""

    input: Decimal
    cached_input: Decimal
    output: Decimal

    def cost(self, prompt_tokens: int, cached_tokens: int, completion_tokens: int) -> Decimal:
        uncached = max(prompt_tokens - cached_tokens, 0)
        total = (
            uncached * self.input
            + cached_tokens * self.cached_input
            + completion_tokens * self.output
        )
        return total / Decimal(1_000_000)

    def override(
        self,
        input: Decimal | None = None,
        cached_input: Decimal | None = None,
        output: Decimal | None = None,
    ) -> "Prices":
        """These prices with a gateway's own where it sets them (None keeps ours)."""
        return Prices(
            input=self.input if input is None else input,
            cached_input=self.cached_input if cached_input is None else cached_input,
            output=self.output if output is None else output,
        )


@dataclass(frozen=True, slots=True)
class ModelFamily:
    name: str
    display_name: str
    capabilities: Capabilities
    context_window: int
    max_output_tokens: int
    prices: Prices | None
    # How OpenAI counts image tokens for this family: "patches" or "tiles".
    image_tokens: str = "tiles"

    def accepts_effort(self) -> bool:
        return self.capabilities.reasoning_effort

    def with_prices(self, prices: Prices | None) -> "ModelFamily":
        """This family as one gateway sells it (gateways charge differently)."""
        return replace(self, prices=prices)

    def shape(self, request: ChatRequest) -> dict:
        """The Chat Completions body this family accepts for ``request``.

        What the family refuses is left out rather than sent to fail: a
        gateway's 400 for ``temperature`` helps nobody in the middle of a chat.
        """
        caps = self.capabilities
        messages = list(request.messages)
        if not caps.system_role:
            messages = _fold_system_into_first_user_turn(messages)
        if not caps.vision:
            messages = [replace(m, images=()) for m in messages]
        body: dict = {
            key: value
            for key, value in request.extra.items()
            if key not in SHAPED_PARAMETERS
            and (caps.sampling_parameters or key not in SAMPLING_PARAMETERS)
            and (caps.tools or key not in TOOL_PARAMETERS)
        }
        body |= {
            "model": request.model,
            "messages": [_wire_message(m) for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if caps.reasoning_effort and request.reasoning_effort in EFFORTS:
            body["reasoning_effort"] = request.reasoning_effort
        if request.max_output_tokens:
            limit = min(request.max_output_tokens, self.max_output_tokens)
            key = "max_tokens" if caps.sampling_parameters else "max_completion_tokens"
            body[key] = limit
        if request.json_output and caps.json_schema:
            body["response_format"] = {"type": "json_object"}
        if request.tools and caps.tools:
            body["tools"] = list(request.tools)
        return body


def _fold_system_into_first_user_turn(messages: list[ChatMessage]) -> list[ChatMessage]:
    system_text = "\n\n".join(m.content for m in messages if m.role == "system" and m.content)
    rest = [m for m in messages if m.role != "system"]
    if not system_text:
        return rest
    for position, message in enumerate(rest):
        if message.role == "user":
            rest[position] = replace(message, content=f"{system_text}\n\n{message.content}")
            return rest
    return [ChatMessage(role="user", content=system_text), *rest]


def _wire_message(message: ChatMessage) -> dict:
    # Only user turns may carry images in Chat Completions.
    if not message.images or message.role != "user":
        return {"role": message.role, "content": message.content}
    parts: list[dict] = [{"type": "text", "text": message.content}]
    parts += [
        {"type": "image_url", "image_url": {"url": image.data_url, "detail": image.detail}}
        for image in message.images
    ]
    return {"role": message.role, "content": parts}


_O_SERIES = Capabilities(
    vision=False,
    tools=True,
    reasoning_effort=True,
    system_role=True,
    json_schema=True,
    sampling_parameters=False,
)

FAMILIES: dict[str, ModelFamily] = {
    family.name: family
    for family in (
        ModelFamily(
            name="o4-mini",
            display_name="o4-mini",
            capabilities=replace(_O_SERIES, vision=True),
            context_window=200_000,
            max_output_tokens=100_000,
            prices=Prices(Decimal("1.10"), Decimal("0.275"), Decimal("4.40")),
            image_tokens="patches",
        ),
        ModelFamily(
            name="o3-mini",
            display_name="o3-mini",
            capabilities=_O_SERIES,
            context_window=200_000,
            max_output_tokens=100_000,
            prices=Prices(Decimal("1.10"), Decimal("0.55"), Decimal("4.40")),
        ),
        ModelFamily(
            name="o1-mini",
            display_name="o1-mini",
            capabilities=replace(
                _O_SERIES,
                tools=False,
                reasoning_effort=False,
                system_role=False,
                json_schema=False,
            ),
            context_window=128_000,
            max_output_tokens=65_536,
            prices=Prices(Decimal("1.10"), Decimal("0.55"), Decimal("4.40")),
        ),
    )
}

# An id we do not know: assume a plain chat model that takes the common
# parameters, and charge nothing we cannot back up.
GENERIC = ModelFamily(
    name="generic",
    display_name="Other model",
    capabilities=Capabilities(),
    context_window=128_000,
    max_output_tokens=16_384,
    prices=None,
)

_DATE_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")
# o3, o3-pro, o5-mini…: o-series models we have no facts for yet.
_LATER_O_SERIES = re.compile(r"o\d+(-[a-z0-9]+)*")


def family_for(model_id: str) -> ModelFamily:
    """Map a gateway's model id to its family.

    Gateways prefix a vendor (``openai/o4-mini``) and pin snapshots
    (``o4-mini-2025-04-16``); both name the same family.
    """
    name = model_id.strip().lower().rsplit("/", 1)[-1]
    name = _DATE_SUFFIX.sub("", name)
    if name in FAMILIES:
        return FAMILIES[name]
    if _LATER_O_SERIES.fullmatch(name):
        return _later_o_series(name)
    return GENERIC


def _later_o_series(name: str) -> ModelFamily:
    """An o-series model not in the catalog, asked only what every one of them takes.

    As a generic model it was sent ``max_tokens`` and sampling parameters,
    which the o-series refuse, and offered no effort. The o1 line, like
    o1-mini, takes neither an effort nor a system turn. Images and prices
    wait for facts: none is charged, none is sent.
    """
    o1_line = FAMILIES["o1-mini"].capabilities
    return ModelFamily(
        name=name,
        display_name=name,
        capabilities=o1_line if name.startswith("o1") else replace(_O_SERIES, vision=False),
        context_window=128_000,
        max_output_tokens=65_536,
        prices=None,
    )
