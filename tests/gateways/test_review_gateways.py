"""What an admin types into a gateway is checked when saved, not found wrong mid-chat."""

from decimal import Decimal

import pytest
from django.urls import reverse

from chatapp.gateways.models import ModelOffering, Provider
from chatapp.gateways.registry import find_model, model_choices

from .admin_forms import add_gateway

pytestmark = pytest.mark.django_db

SECRET = "sk-aimlapi-review-secret-0123456789"


def test_a_base_url_copied_with_its_endpoint_path_is_trimmed(admin_client):
    """The gateways' docs show https://…/v1/chat/completions: requests added it again (a 404)."""
    response = add_gateway(
        admin_client, "AI/ML API", base_url="https://api.aimlapi.com/v1/chat/completions/"
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    provider = Provider.objects.get()
    assert provider.base_url == "https://api.aimlapi.com/v1"
    assert provider.endpoint().url("/chat/completions") == (
        "https://api.aimlapi.com/v1/chat/completions"
    )


# Base URLs the form took and no request could use (or that put a key on the page).
UNUSABLE_BASE_URLS = {
    "ftp": ("ftp://gw.example.com/v1", "http:// or https://"),
    "query": ("https://gw.example.com/v1?key=abc", "without ?"),
    "fragment": ("https://gw.example.com/v1#top", "without ?"),
    "credentials": (f"https://user:{SECRET}@gw.example.com/v1", "not in the URL"),
}


@pytest.mark.parametrize(
    ("base_url", "message"), UNUSABLE_BASE_URLS.values(), ids=UNUSABLE_BASE_URLS.keys()
)
def test_a_base_url_no_request_can_use_is_refused(admin_client, base_url, message):
    response = add_gateway(admin_client, "Odd", base_url=base_url)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Provider.objects.exists()


def test_the_display_name_an_admin_gives_is_what_members_pick(settings):
    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = ""
    provider = Provider.objects.create(name="Local", base_url="http://127.0.0.1:11434/v1")
    ModelOffering.objects.create(
        provider=provider, model_id="qwen3:30b-a3b-q4_K_M", display_name="Qwen3 30B (local)"
    )
    ModelOffering.objects.create(provider=provider, model_id="o4-mini", display_name="o4-mini fast")

    labels = {choice.key: choice.label for choice in model_choices()}

    assert labels == {"qwen3:30b-a3b-q4_K_M": "Qwen3 30B (local)", "o4-mini": "o4-mini fast"}


def test_the_environment_gateways_key_is_not_sent_to_another_gateway(
    admin_client,
    settings,
    monkeypatch,
):
    """OPENAI_API_KEY holds the key of the gateway in OPENAI_BASE_URL (the README's
    example: AI/ML API). The OpenAI preset names the same variable, and sent that
    gateway's key to api.openai.com."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    settings.OPENAI_API_KEY = SECRET
    settings.OPENAI_BASE_URL = "https://api.aimlapi.com/v1"

    response = add_gateway(admin_client, "OpenAI", preset="openai")

    assert response.status_code == 200
    assert "key of the environment&#x27;s gateway (api.aimlapi.com)" in response.content.decode()
    assert not Provider.objects.exists()

    # One saved before this was refused: not sent, and the admin reads why.
    saved = Provider.objects.create(
        name="OpenAI", base_url="https://api.openai.com/v1", api_key_env="OPENAI_API_KEY"
    )
    assert saved.endpoint().api_key == ""
    listing = admin_client.get(reverse("admin:gateways_provider_changelist")).content.decode()
    assert (
        "OPENAI_API_KEY holds the key of the environment&#x27;s gateway (api.aimlapi.com): not sent"
        in listing
    )
    assert SECRET[-4:] not in listing


def test_the_environment_key_may_be_named_for_its_own_gateway(
    admin_client,
    settings,
    monkeypatch,
):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    settings.OPENAI_API_KEY = SECRET
    settings.OPENAI_BASE_URL = ""  # api.openai.com

    assert add_gateway(admin_client, "OpenAI", preset="openai").status_code == 302
    assert Provider.objects.get().endpoint().api_key == SECRET


def test_cached_tokens_never_cost_more_than_the_gateways_own_input_price(settings):
    """A gateway selling o4-mini input at $0.10 / 1M, no cached price given: cached
    tokens were charged the catalog's $0.275, more than the same tokens uncached."""
    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = ""
    provider = Provider.objects.create(name="Discount", base_url="https://d.example.com/v1")
    ModelOffering.objects.create(provider=provider, model_id="o4-mini", input_price="0.10")
    (route,) = find_model("o4-mini").routes

    all_cached = route.prices.cost(
        prompt_tokens=1_000_000, cached_tokens=1_000_000, completion_tokens=0
    )
    none_cached = route.prices.cost(prompt_tokens=1_000_000, cached_tokens=0, completion_tokens=0)

    assert none_cached == Decimal("0.10")
    assert all_cached <= none_cached


def test_the_same_gateway_is_not_tried_twice_for_one_model(settings, monkeypatch):
    """OPENAI_MODELS naming a model twice, or the admin adding the environment's own
    gateway again: a failing gateway was asked again with the same key, and the
    member waited through its failure twice."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    settings.OPENAI_API_KEY = SECRET
    settings.OPENAI_BASE_URL = ""
    settings.OPENAI_MODELS = ["o4-mini", "o4-mini"]
    same = Provider.objects.create(
        name="OpenAI", base_url="https://api.openai.com/v1/", api_key_env="OPENAI_API_KEY"
    )
    ModelOffering.objects.create(provider=same, model_id="o4-mini")
    other = Provider.objects.create(name="Other", base_url="https://gw.example.com/v1")
    ModelOffering.objects.create(provider=other, model_id="o4-mini")

    routes = [(route.endpoint.name, route.model_id) for route in find_model("o4-mini").routes]

    assert routes == [("api.openai.com", "o4-mini"), ("Other", "o4-mini")]
