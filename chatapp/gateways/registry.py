"""Which models people can pick, and which gateways can answer each one.

The environment's gateway (OPENAI_BASE_URL / OPENAI_API_KEY / OPENAI_MODELS)
comes first, then the providers configured in the admin by priority. The same
family offered by several gateways is one choice with several routes, so a
failing gateway can hand over to the next. With no gateway at all, the
built-in simulator answers, over real HTTP like any gateway.
"""

import threading
import time
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction

from chatapp.providers import Endpoint, ModelFamily, family_for
from chatapp.providers.catalog import Prices
from chatapp.providers.simulator import SIMULATED_MODELS, SimulatorServer

from .models import OPENAI_DEFAULT_BASE_URL, ModelOffering

SIMULATOR_NAME = "Simulator"
# How long a process keeps the model list before reading the gateways again.
# A change in the admin reaches its own process at once (see forget_model_choices)
# and the other processes within this time.
MODEL_CHOICES_SECONDS = 10.0


@dataclass(frozen=True)
class Route:
    """One way to reach a model: a gateway and the id that gateway uses for it."""

    endpoint: Endpoint
    model_id: str
    family: ModelFamily
    prices: Prices | None
    simulated: bool = False
    # The admin's name for the model at this gateway ("" for none).
    display_name: str = ""


@dataclass(frozen=True)
class ModelChoice:
    key: str
    label: str
    family: ModelFamily
    routes: tuple[Route, ...]

    @property
    def takes_effort(self) -> bool:
        return self.family.accepts_effort()

    @property
    def takes_images(self) -> bool:
        return self.family.capabilities.vision

    @property
    def simulated(self) -> bool:
        """The built-in simulator answers (no gateway is configured): the page says so."""
        return self.routes[0].simulated


@cache
def _simulator_url(chunk_delay: float) -> str:
    return SimulatorServer(chunk_delay=chunk_delay).start_in_thread()


def _environment_routes() -> list[Route]:
    if not (settings.OPENAI_API_KEY or settings.OPENAI_BASE_URL):
        return []
    base_url = settings.OPENAI_BASE_URL or OPENAI_DEFAULT_BASE_URL
    endpoint = Endpoint(
        name=urlsplit(base_url).hostname or "the gateway",
        base_url=base_url,
        api_key=settings.OPENAI_API_KEY,
    )
    # Once each: a model named twice in OPENAI_MODELS was asked twice on failure.
    return [_route(endpoint, model_id) for model_id in dict.fromkeys(settings.OPENAI_MODELS)]


def _route(endpoint: Endpoint, model_id: str, *, simulated: bool = False) -> Route:
    family = family_for(model_id)
    return Route(
        endpoint=endpoint,
        model_id=model_id,
        family=family,
        prices=family.prices,
        simulated=simulated,
    )


def _configured_routes() -> list[Route]:
    offerings = ModelOffering.objects.filter(enabled=True, provider__enabled=True).select_related(
        "provider"
    )
    return [
        Route(
            endpoint=offering.provider.endpoint(),
            model_id=offering.model_id,
            family=offering.model_family(),
            prices=offering.prices(),
            display_name=offering.display_name,
        )
        for offering in offerings.order_by("provider__priority", "provider__name", "pk")
    ]


def _simulator_routes() -> list[Route]:
    endpoint = Endpoint(
        name=SIMULATOR_NAME, base_url=_simulator_url(settings.SIMULATOR_CHUNK_DELAY)
    )
    return [_route(endpoint, model_id, simulated=True) for model_id in SIMULATED_MODELS]


class _ModelChoicesCache:
    """The model list, read once per process every MODEL_CHOICES_SECONDS.

    Every send, every conversation page and every new conversation needs it,
    and building it (a query, an endpoint per route) cost about as much as
    the rest of a send's database work. ``forget`` bumps a version so a list
    read while the gateways were changing is not kept.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version = 0
        self._entry: tuple[float, tuple[ModelChoice, ...]] | None = None

    def get(self) -> tuple[ModelChoice, ...]:
        entry = self._entry
        if entry is not None and time.monotonic() - entry[0] < MODEL_CHOICES_SECONDS:
            return entry[1]
        version = self._version
        read_at = time.monotonic()
        choices = _read_model_choices()
        with self._lock:
            if version == self._version:
                self._entry = (read_at, choices)
        return choices

    def forget(self) -> None:
        with self._lock:
            self._version += 1
            self._entry = None


_cache = _ModelChoicesCache()


def model_choices() -> tuple[ModelChoice, ...]:
    """Every model a person can pick, each with its gateways in failover order."""
    return _cache.get()


def forget_model_choices() -> None:
    """Read the gateways afresh next time."""
    _cache.forget()


# Settings the model list is built from (tests change them).
ROUTE_SETTINGS = {"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODELS", "SIMULATOR_CHUNK_DELAY"}


def gateways_changed(**_signal_arguments) -> None:
    """A provider or an offering was saved or deleted (connected in GatewaysConfig.ready)."""
    # Now, for this thread's next read; and after the commit, because other
    # threads read the old rows until then (and a bulk insert in the same
    # transaction sends no signal).
    forget_model_choices()
    transaction.on_commit(forget_model_choices)


def route_setting_changed(setting: str, **_signal_arguments) -> None:
    if setting in ROUTE_SETTINGS:
        forget_model_choices()


def _read_model_choices() -> tuple[ModelChoice, ...]:
    environment = _environment_routes()
    # The environment's gateway added in the admin too: failing over to it, with
    # the same key, would only repeat the failure.
    taken = {_same_request(route) for route in environment}
    configured = [route for route in _configured_routes() if _same_request(route) not in taken]
    # With no gateway at all, the simulator answers.
    available = (environment + configured) or _simulator_routes()
    grouped: dict[str, list[Route]] = {}
    for route in available:
        key = route.model_id if route.family.name == "generic" else route.family.name
        grouped.setdefault(key, []).append(route)
    return tuple(
        ModelChoice(
            key=key, label=_label(key, routes), family=routes[0].family, routes=tuple(routes)
        )
        for key, routes in grouped.items()
    )


def _same_request(route: Route) -> tuple[str, str, str]:
    return route.endpoint.base_url.rstrip("/"), route.endpoint.api_key, route.model_id


def _label(key: str, routes: list[Route]) -> str:
    """The first display name an admin gave the model, else the family's (or the id)."""
    named = next((route.display_name for route in routes if route.display_name), "")
    return named or (key if routes[0].family.name == "generic" else routes[0].family.display_name)


def find_model(key: str) -> ModelChoice | None:
    return next((choice for choice in model_choices() if choice.key == key), None)
