import os
from dataclasses import replace
from decimal import Decimal
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.views.decorators.debug import sensitive_variables

from chatapp.providers import Endpoint, ModelFamily, Timeouts, family_for
from chatapp.providers.catalog import FAMILIES, Prices
from chatapp.providers.client import sendable_key, valid_port

from .presets import PRESETS

DEFAULT_TIMEOUTS = Timeouts()
FAMILY_CHOICES = [("", "Detect from the model id")] + [
    (name, family.display_name) for name, family in FAMILIES.items()
]


# Variables that hold the server's own secrets, never a gateway's key: the key
# is sent to the gateway's URL, which whoever edits the gateway chooses.
SERVER_SECRET_MARKS = ("SECRET", "PASSWORD", "DATABASE", "REDIS", "POSTGRES")
SERVER_SECRET_PREFIXES = ("AWS_", "DJANGO_")


# The environment's gateway (see registry): OPENAI_API_KEY is its key, sent
# to OPENAI_BASE_URL's host, or OpenAI's when that is unset.
ENVIRONMENT_KEY_VARIABLE = "OPENAI_API_KEY"
OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Copied from a gateway's docs with the endpoint: requests add it again.
ENDPOINT_PATH = "/chat/completions"


def environment_gateway_host() -> str:
    return urlsplit(settings.OPENAI_BASE_URL or OPENAI_DEFAULT_BASE_URL).hostname or ""


def is_gateway_key_variable(name: str) -> bool:
    upper = name.upper()
    return (
        upper.endswith(("_KEY", "_TOKEN"))
        and not any(mark in upper for mark in SERVER_SECRET_MARKS)
        and not upper.startswith(SERVER_SECRET_PREFIXES)
    )


class Provider(models.Model):
    """An OpenAI-compatible gateway. Its key stays in the server's environment."""

    name = models.CharField(max_length=100, unique=True)
    preset = models.CharField(
        max_length=20,
        blank=True,
        choices=[("", "Custom")] + [(p.key, p.name) for p in PRESETS.values()],
        help_text="A known gateway: fills in the base URL, key variable and its models.",
    )
    base_url = models.URLField("Base URL", blank=True, help_text="Ends in /v1.")
    api_key_env = models.CharField(
        "Key environment variable",
        max_length=100,
        blank=True,
        help_text="The name of the server environment variable that holds the API key, "
        "e.g. AIMLAPI_API_KEY. Leave empty for a keyless local server (vLLM, Ollama).",
    )
    enabled = models.BooleanField(default=True)
    priority = models.PositiveSmallIntegerField(
        default=100, help_text="Lower answers first; the next one takes over when it fails."
    )
    read_timeout = models.FloatField(
        "Silence limit (seconds)",
        default=DEFAULT_TIMEOUTS.read,
        validators=[MinValueValidator(1)],
        help_text="How long the model may send nothing before the answer is given up. "
        "Reasoning models can think silently for minutes.",
    )
    deadline = models.FloatField(
        "Answer time limit (seconds)",
        default=DEFAULT_TIMEOUTS.deadline,
        validators=[MinValueValidator(10)],
        help_text="The longest a whole answer may take, retries included.",
    )

    class Meta:
        ordering = ["priority", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        preset = PRESETS.get(self.preset)
        if preset:
            self.base_url = self.base_url or preset.base_url
            self.api_key_env = self.api_key_env or preset.api_key_env
        if not self.base_url:
            raise ValidationError({"base_url": "Give the gateway's base URL or pick a preset."})
        if not valid_port(self.base_url):
            raise ValidationError({"base_url": "A port is a number from 0 to 65535."})
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https"):
            raise ValidationError({"base_url": "Give an http:// or https:// address."})
        if parts.username or parts.password:
            raise ValidationError(
                {"base_url": "Name the key's variable below, not in the URL (admin pages show it)."}
            )
        if parts.query or parts.fragment:
            raise ValidationError({"base_url": "Give the base URL without ?… or #…"})
        self.base_url = self.base_url.rstrip("/").removesuffix(ENDPOINT_PATH).rstrip("/")
        if self.api_key_env and not self.api_key_env.replace("_", "").isalnum():
            raise ValidationError(
                {"api_key_env": "Give the variable's name (letters, digits, _), not the key."}
            )
        if self.api_key_env and not is_gateway_key_variable(self.api_key_env):
            raise ValidationError(
                {
                    "api_key_env": "Name a variable that holds a gateway key: its name ends in "
                    "_KEY or _TOKEN, and it is not one of the server's own secrets "
                    "(SECRET_KEY, database, cloud credentials)."
                }
            )
        if self._borrows_environment_key():
            raise ValidationError(
                {
                    "api_key_env": f"{ENVIRONMENT_KEY_VARIABLE} holds the key of the environment's "
                    f"gateway ({environment_gateway_host()}); name another variable for this "
                    "gateway's key."
                }
            )

    def _borrows_environment_key(self) -> bool:
        """Whether this names the environment gateway's key but is another host."""
        if self.api_key_env != ENVIRONMENT_KEY_VARIABLE:
            return False
        return (urlsplit(self.base_url).hostname or "") != environment_gateway_host()

    @property
    def api_key(self) -> str:
        if not self.api_key_env or not is_gateway_key_variable(self.api_key_env):
            return ""
        if self._borrows_environment_key():
            return ""
        return os.environ.get(self.api_key_env, "")

    @property
    @sensitive_variables("key")
    def key_status(self) -> str:
        """What an admin may see of the key: whether it is set, and its last characters."""
        if not self.api_key_env:
            return "no key needed"
        if not is_gateway_key_variable(self.api_key_env):
            return f"{self.api_key_env} is not a gateway key variable: not sent"
        if self._borrows_environment_key():
            return (
                f"{self.api_key_env} holds the key of the environment's gateway "
                f"({environment_gateway_host()}): not sent"
            )
        key = self.api_key
        if not key:
            return f"{self.api_key_env} is not set"
        if not sendable_key(key):
            return (
                f"{self.api_key_env} contains a character a key cannot have "
                "(often a space pasted with it): not sent"
            )
        return f"set (…{key[-4:]})" if len(key) >= 12 else "set"

    def endpoint(self) -> Endpoint:
        return Endpoint(
            name=self.name,
            base_url=self.base_url,
            api_key=self.api_key,
            timeouts=Timeouts(read=self.read_timeout, deadline=self.deadline),
        )


class ModelOffering(models.Model):
    """A model as one gateway names it, with that gateway's prices when they differ."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="offerings")
    model_id = models.CharField("Gateway model id", max_length=200)
    display_name = models.CharField(max_length=100, blank=True)
    family = models.CharField(max_length=50, blank=True, choices=FAMILY_CHOICES)
    enabled = models.BooleanField(default=True)
    input_price = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="$ per 1M tokens",
    )
    cached_input_price = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="$ per 1M tokens; blank: the catalog's, else the input price",
    )
    output_price = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="$ per 1M tokens",
    )

    class Meta:
        ordering = ["provider__priority", "model_id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "model_id"], name="unique_offering")
        ]

    def __str__(self) -> str:
        return f"{self.model_id} via {self.provider}"

    def model_family(self) -> ModelFamily:
        return FAMILIES.get(self.family) or family_for(self.model_id)

    def prices(self) -> Prices | None:
        """The catalog's prices with this gateway's own where set; None if neither has any."""
        overrides = (self.input_price, self.cached_input_price, self.output_price)
        base = self.model_family().prices
        if all(price is None for price in overrides):
            return base
        if base is None:
            # A model the catalog does not know. Gateways without a cached price
            # bill cached tokens as input: charged nothing, they hid most of a
            # long conversation's cost.
            given = Decimal(0) if self.input_price is None else self.input_price
            base = Prices(input=given, cached_input=given, output=Decimal(0))
        prices = base.override(*overrides)
        if self.cached_input_price is None and self.input_price is not None:
            # The catalog's cached price is OpenAI's: at a cheaper gateway it
            # charged a cached token more than an uncached one.
            prices = replace(prices, cached_input=min(prices.cached_input, prices.input))
        return prices
