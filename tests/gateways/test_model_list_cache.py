"""The model list is read once per process, and again as soon as a gateway changes.

Every send and every conversation page needs it; reading the gateways each
time cost a query and an endpoint per route on the busiest path there is.
"""

import pytest

from chatapp.gateways import registry
from chatapp.gateways.models import ModelOffering, Provider
from chatapp.gateways.registry import model_choices

pytestmark = pytest.mark.django_db


def keys() -> list[str]:
    return [choice.key for choice in model_choices()]


def test_the_list_is_read_once(django_assert_num_queries):
    model_choices()

    with django_assert_num_queries(0):
        assert keys() == ["o4-mini", "o3-mini", "o1-mini"]


def test_a_gateway_added_disabled_or_deleted_shows_at_once():
    assert model_choices()[0].simulated

    gateway = Provider.objects.create(name="AIgateway", base_url="https://gw.example/v1")
    ModelOffering.objects.create(provider=gateway, model_id="o3-mini")
    assert keys() == ["o3-mini"]
    assert model_choices()[0].routes[0].endpoint.name == "AIgateway"

    gateway.enabled = False
    gateway.save()
    assert model_choices()[0].simulated

    gateway.enabled = True
    gateway.save()
    assert keys() == ["o3-mini"]
    gateway.delete()
    assert model_choices()[0].simulated


def test_a_change_made_by_another_process_shows_within_the_refresh_time(monkeypatch):
    gateway = Provider.objects.create(name="AIgateway", base_url="https://gw.example/v1")
    ModelOffering.objects.create(provider=gateway, model_id="o3-mini")
    ModelOffering.objects.create(provider=gateway, model_id="o4-mini")
    assert keys() == ["o3-mini", "o4-mini"]

    # No signal here, as for a change saved by another server process.
    ModelOffering.objects.filter(model_id="o3-mini").update(enabled=False)
    assert keys() == ["o3-mini", "o4-mini"]

    monkeypatch.setattr(registry, "MODEL_CHOICES_SECONDS", 0)
    assert keys() == ["o4-mini"]
