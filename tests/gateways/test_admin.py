"""Admins add gateways by preset, see whether a key is set, and list a gateway's models."""

import pytest
from django.urls import reverse

from chatapp.gateways.models import ModelOffering, Provider
from chatapp.gateways.registry import model_choices

pytestmark = pytest.mark.django_db

SECRET = "sk-admin-visible-never-0123456789abcd"


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "root-pw-1")
    client.force_login(admin)
    return client


def add_gateway(admin_client, name: str, preset: str = "", base_url: str = "", api_key_env=""):
    """The admin's "add gateway" form, submitted with no models of its own."""
    return admin_client.post(
        reverse("admin:gateways_provider_add"),
        {
            "name": name,
            "preset": preset,
            "base_url": base_url,
            "api_key_env": api_key_env,
            "enabled": "on",
            "priority": "10",
            "read_timeout": "300",
            "deadline": "900",
            "offerings-TOTAL_FORMS": "0",
            "offerings-INITIAL_FORMS": "0",
        },
    )


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
