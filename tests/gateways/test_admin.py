"""Admins add gateways by preset, see whether a key is set, and list a gateway's models."""

from decimal import Decimal

import pytest
from django.urls import reverse

from chatapp.gateways.models import ModelOffering, Provider
from chatapp.gateways.registry import find_model, model_choices

from .admin_forms import add_gateway, form_as_shown

pytestmark = pytest.mark.django_db

SECRET = "sk-admin-visible-never-0123456789abcd"


def test_a_preset_makes_adding_a_gateway_a_matter_of_a_key(admin_client, monkeypatch):
    monkeypatch.setenv("AIMLAPI_API_KEY", SECRET)
    response = add_gateway(admin_client, "AI/ML API", preset="aimlapi")
    assert response.status_code == 302, response.content.decode()[:2000]
    provider = Provider.objects.get(name="AI/ML API")
    assert provider.base_url == "https://api.aimlapi.com/v1"
    assert provider.api_key_env == "AIMLAPI_API_KEY"
    assert sorted(provider.offerings.values_list("model_id", flat=True)) == [
        "o1-mini",
        "o3-mini",
        "openai/o4-mini-2025-04-16",
    ]

    listing = admin_client.get(reverse("admin:gateways_provider_changelist")).content.decode()
    assert "set (…abcd)" in listing
    assert SECRET not in listing
    page = admin_client.get(
        reverse("admin:gateways_provider_change", args=[provider.pk])
    ).content.decode()
    assert SECRET not in page


def test_deleting_every_model_of_a_preset_gateway_sticks(admin_client, settings):
    # OpenAI's preset names OPENAI_API_KEY: allowed while no other gateway's host has it.
    settings.OPENAI_BASE_URL = ""
    assert add_gateway(admin_client, "OpenAI", preset="openai").status_code == 302
    provider = Provider.objects.get()
    assert sorted(provider.offerings.values_list("model_id", flat=True)) == ["o3-mini", "o4-mini"]
    change = reverse("admin:gateways_provider_change", args=[provider.pk])

    data = form_as_shown(admin_client.get(change).content.decode())
    for row in range(int(data["offerings-TOTAL_FORMS"])):
        data[f"offerings-{row}-DELETE"] = "on"
    assert admin_client.post(change, data).status_code == 302

    assert not provider.offerings.exists()
    assert "openai" not in [choice.key for choice in model_choices()]


def test_an_unset_key_is_named_so_the_admin_knows_what_to_set(admin_client):
    Provider.objects.create(name="CometAPI", base_url="https://x/v1", api_key_env="NOPE_KEY")
    listing = admin_client.get(reverse("admin:gateways_provider_changelist")).content.decode()
    assert "NOPE_KEY is not set" in listing


def test_a_key_pasted_in_place_of_a_variable_name_is_refused(admin_client):
    response = add_gateway(
        admin_client, "Oops", base_url="https://api.example.com/v1", api_key_env="sk-live-abc.def"
    )
    assert response.status_code == 200
    assert "not the key" in response.content.decode()
    assert not Provider.objects.exists()


# The key is sent to the gateway's URL, which whoever edits the gateway picks:
# a server secret named as the key would go there.
SERVER_SECRETS = ["SECRET_KEY", "DATABASE_URL", "AWS_SECRET_ACCESS_KEY", "DJANGO_SECRET_KEY"]


@pytest.mark.parametrize("variable", SERVER_SECRETS)
def test_a_server_secret_cannot_be_named_as_a_gateways_key(admin_client, variable, monkeypatch):
    monkeypatch.setenv(variable, "postgres://app:hunter2@db/app")
    response = add_gateway(
        admin_client, "Exfiltrator", base_url="https://attacker.example/v1", api_key_env=variable
    )
    assert response.status_code == 200
    assert "not one of the server&#x27;s own secrets" in response.content.decode()
    assert not Provider.objects.exists()


def test_a_server_secret_already_named_is_neither_sent_nor_shown(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "a-server-secret-0123456789")
    provider = Provider(name="Old row", base_url="https://x.example/v1", api_key_env="SECRET_KEY")

    assert provider.endpoint().api_key == ""
    assert "6789" not in provider.key_status


def test_a_port_that_does_not_exist_is_refused(admin_client):
    response = add_gateway(admin_client, "Odd", base_url="http://127.0.0.1:99999/v1")
    assert response.status_code == 200
    assert "A port is a number from 0 to 65535." in response.content.decode()
    assert not Provider.objects.exists()


@pytest.mark.parametrize("variable", ["AIMLAPI_API_KEY", "AZURE_OPENAI_API_KEY", "HF_TOKEN"])
def test_gateway_key_variables_are_accepted(variable, monkeypatch):
    monkeypatch.setenv(variable, "sk-gateway-key-0123456789")
    provider = Provider(name="Fine", base_url="https://x.example/v1", api_key_env=variable)
    provider.full_clean()
    assert provider.endpoint().api_key == "sk-gateway-key-0123456789"


def test_listing_a_gateways_models(admin_client, live_simulator_url):
    provider = Provider.objects.create(name="Sim", base_url=live_simulator_url)
    response = admin_client.post(
        reverse("admin:gateways_provider_changelist"),
        {"action": "list_gateway_models", "_selected_action": [provider.pk]},
        follow=True,
    )
    assert "Sim offers: o1-mini, o3-mini, o4-mini" in response.content.decode()


def test_listing_models_of_an_unreachable_gateway_says_so(admin_client):
    provider = Provider.objects.create(name="Down", base_url="http://127.0.0.1:9/v1")
    response = admin_client.post(
        reverse("admin:gateways_provider_changelist"),
        {"action": "list_gateway_models", "_selected_action": [provider.pk]},
        follow=True,
    )
    assert (
        "Down: Could not connect to Down: the connection was refused." in response.content.decode()
    )


# Gateways no request can reach (saved before such were refused, or a key
# pasted with a non-breaking space), and what the admin reads of them.
UNUSABLE_GATEWAYS = {
    "port out of range": (
        "http://127.0.0.1:99999/v1",
        SECRET,
        "Odd: The base URL configured for Odd is not a valid http(s) address.",
    ),
    "key no header can carry": (
        "http://127.0.0.1:9/v1",
        f"{SECRET}\u00a0",
        "Odd: The API key configured for Odd contains a character a key cannot have",
    ),
}


@pytest.mark.parametrize(
    ("base_url", "key", "message"), UNUSABLE_GATEWAYS.values(), ids=UNUSABLE_GATEWAYS.keys()
)
def test_listing_models_of_an_unusable_gateway_says_why(
    admin_client, settings, monkeypatch, base_url, key, message
):
    settings.DEBUG = True  # an error page would show the request's headers
    admin_client.raise_request_exception = False
    monkeypatch.setenv("ODD_API_KEY", key)
    provider = Provider.objects.create(name="Odd", base_url=base_url, api_key_env="ODD_API_KEY")

    response = admin_client.post(
        reverse("admin:gateways_provider_changelist"),
        {"action": "list_gateway_models", "_selected_action": [provider.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert SECRET not in response.content.decode()


def test_a_key_no_header_can_carry_is_named_so_the_admin_can_fix_it(admin_client, monkeypatch):
    monkeypatch.setenv("ODD_API_KEY", f"{SECRET}\u00a0")
    Provider.objects.create(name="Odd", base_url="https://x/v1", api_key_env="ODD_API_KEY")
    listing = admin_client.get(reverse("admin:gateways_provider_changelist")).content.decode()
    assert (
        "ODD_API_KEY contains a character a key cannot have (often a space pasted with it): "
        "not sent" in listing
    )
    assert SECRET[-4:] not in listing


def test_one_family_from_several_gateways_is_one_choice_in_priority_order(settings):
    settings.OPENAI_API_KEY = "sk-env"
    settings.OPENAI_BASE_URL = "https://api.cometapi.com/v1"
    settings.OPENAI_MODELS = ["o4-mini"]
    slow = Provider.objects.create(name="Later", base_url="https://b/v1", priority=50)
    ModelOffering.objects.create(provider=slow, model_id="openai/o4-mini")
    first = Provider.objects.create(name="Sooner", base_url="https://a/v1", priority=5)
    ModelOffering.objects.create(provider=first, model_id="openai/o4-mini-2025-04-16")
    ModelOffering.objects.create(provider=first, model_id="my-local-llama")

    choices = {choice.key: choice for choice in model_choices()}

    assert list(choices) == ["o4-mini", "my-local-llama"]
    routes = [(r.endpoint.name, r.model_id) for r in choices["o4-mini"].routes]
    assert routes == [
        ("api.cometapi.com", "o4-mini"),
        ("Sooner", "openai/o4-mini-2025-04-16"),
        ("Later", "openai/o4-mini"),
    ]
    assert choices["my-local-llama"].family.name == "generic"


def test_offering_prices_override_the_catalog():
    provider = Provider.objects.create(name="Cheap", base_url="https://c/v1")
    offering = ModelOffering.objects.create(
        provider=provider, model_id="o4-mini", output_price="2.00"
    )
    prices = offering.prices()
    assert (str(prices.input), str(prices.output)) == ("1.10", "2.00")


# model, the prices the admin gives ($ per 1M tokens: input, cached input, output), and
# what a 10,000-token prompt, 9,000 of them from the gateway's cache, and 1,000 out cost.
PRICED = [
    # The catalog's own cached price, the admin's output price.
    ("o4-mini", (None, None, "2"), "0.005575"),
    # A model the catalog does not know: cached tokens cost what input does...
    ("acme-reasoner", ("2", None, "8"), "0.028"),
    # ...unless the admin prices them apart.
    ("acme-reasoner", ("2", "0.5", "8"), "0.0145"),
]


@pytest.mark.parametrize(("model_id", "given", "cost"), PRICED)
def test_what_an_answer_costs_at_the_prices_the_admin_gave(settings, model_id, given, cost):
    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = ""  # only the admin's gateway
    provider = Provider.objects.create(name="Priced", base_url="https://p/v1")
    input_price, cached_price, output_price = given
    ModelOffering.objects.create(
        provider=provider,
        model_id=model_id,
        input_price=input_price,
        cached_input_price=cached_price,
        output_price=output_price,
    )
    (route,) = find_model(model_id).routes

    charged = route.prices.cost(prompt_tokens=10_000, cached_tokens=9_000, completion_tokens=1_000)

    assert charged == Decimal(cost)


@pytest.mark.parametrize("price", ["input_price", "cached_input_price", "output_price"])
def test_a_negative_price_is_refused(admin_client, price):
    model = {"model_id": "o4-mini", "enabled": "on", price: "-4.40"}
    response = add_gateway(admin_client, "Refund", base_url="https://r/v1", offerings=[model])

    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 0." in response.content.decode()
    assert not Provider.objects.exists()
    assert not ModelOffering.objects.exists()
