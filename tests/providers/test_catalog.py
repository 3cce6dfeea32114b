"""The catalog: which family a gateway's id means, what it can do, what it costs."""

from decimal import Decimal

import pytest

from chatapp.providers import FAMILIES, GENERIC, ChatMessage, ChatRequest, Prices, family_for


@pytest.mark.parametrize(
    ("model_id", "family"),
    [
        ("openai/o4-mini-2025-04-16", "o4-mini"),  # AI/ML API
        ("openai/o4-mini", "o4-mini"),  # AIgateway, OpenRouter
        ("o4-mini", "o4-mini"),  # CometAPI, OpenAI
        ("O4-Mini", "o4-mini"),
        ("o3-mini", "o3-mini"),
        ("o3-mini-2025-01-31", "o3-mini"),
        ("o1-mini", "o1-mini"),
        ("o1-mini-2024-09-12", "o1-mini"),
        ("gpt-4o", "generic"),
        ("llama3.1:8b", "generic"),
        ("Qwen/QwQ-32B", "generic"),
        ("", "generic"),
    ],
)
def test_a_gateway_model_id_maps_to_its_family(model_id, family):
    assert family_for(model_id).name == family


@pytest.mark.parametrize(
    ("name", "context", "max_output", "prices", "vision", "tools", "effort", "system", "json"),
    [
        ("o4-mini", 200_000, 100_000, ("1.10", "0.275", "4.40"), True, True, True, True, True),
        ("o3-mini", 200_000, 100_000, ("1.10", "0.55", "4.40"), False, True, True, True, True),
        ("o1-mini", 128_000, 65_536, ("1.10", "0.55", "4.40"), False, False, False, False, False),
    ],
)
def test_family_facts(name, context, max_output, prices, vision, tools, effort, system, json):
    family = FAMILIES[name]
    caps = family.capabilities

    assert (family.context_window, family.max_output_tokens) == (context, max_output)
    assert family.prices == Prices(*(Decimal(p) for p in prices))
    assert (caps.vision, caps.tools, caps.reasoning_effort) == (vision, tools, effort)
    assert (caps.system_role, caps.json_schema, caps.streaming) == (system, json, True)
    assert family.accepts_effort() is effort
    assert not caps.sampling_parameters


def test_an_unknown_model_costs_nothing_we_cannot_back_up():
    assert GENERIC.prices is None
    assert GENERIC.capabilities.sampling_parameters


def test_cost_charges_cached_input_at_its_own_price():
    prices = FAMILIES["o4-mini"].prices

    cost = prices.cost(prompt_tokens=1_000_000, cached_tokens=200_000, completion_tokens=100_000)

    # 800K fresh at $1.10, 200K cached at $0.275, 100K out (reasoning included) at $4.40.
    assert cost == Decimal("0.88") + Decimal("0.055") + Decimal("0.44")


def test_a_gateway_price_overrides_only_what_it_sets():
    catalog = FAMILIES["o4-mini"]

    offered = catalog.with_prices(catalog.prices.override(output=Decimal("5.00")))

    assert offered.prices == Prices(Decimal("1.10"), Decimal("0.275"), Decimal("5.00"))
    assert offered.prices.cost(0, 0, 1_000_000) == Decimal("5.00")
    assert catalog.prices.output == Decimal("4.40"), "the catalog itself is unchanged"
    assert offered.capabilities == catalog.capabilities


def test_an_unpriced_model_can_be_priced_by_its_gateway():
    priced = GENERIC.with_prices(Prices(Decimal("0.20"), Decimal("0.20"), Decimal("0.60")))

    assert priced.prices.cost(1_000_000, 0, 1_000_000) == Decimal("0.80")
    assert GENERIC.prices is None


@pytest.mark.parametrize(
    ("model_id", "name", "takes_effort"),
    [
        ("o3", "o3", True),
        ("openai/o3-pro", "o3-pro", True),
        ("o5-mini-2026-09-30", "o5-mini", True),
        ("O4-MINI-HIGH", "o4-mini-high", True),
        # The o1 line took no effort and no system turn: sent, both failed the request.
        ("o1", "o1", False),
        ("openai/o1-preview", "o1-preview", False),
    ],
)
def test_a_later_o_series_model_is_asked_as_the_o_series_is(model_id, name, takes_effort):
    """Named by its own id, and sent nothing the o-series refuses.

    As "Other model" it was sent ``max_tokens`` (the o-series want
    ``max_completion_tokens``) and ``temperature``, and its effort selector
    was disabled.
    """
    family = family_for(model_id)
    request = ChatRequest(
        model=model_id,
        messages=(ChatMessage("user", "Hello"),),
        reasoning_effort="high",
        max_output_tokens=1_000,
        extra={"temperature": 0.2},
    )

    body = family.shape(request)

    assert family.display_name == name
    assert body["max_completion_tokens"] == 1_000
    assert "max_tokens" not in body and "temperature" not in body
    assert family.accepts_effort() is takes_effort
    assert ("reasoning_effort" in body) is takes_effort
    assert family.prices is None  # no price we could back up
    assert not family.capabilities.vision  # until someone says it looks at images


@pytest.mark.parametrize("model_id", ["gpt-4o", "olmo-2-13b", "omni-moderation-latest", "o"])
def test_other_ids_starting_with_o_are_not_taken_for_the_o_series(model_id):
    assert family_for(model_id) is GENERIC
