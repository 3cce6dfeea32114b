"""Which gateway answers, from the environment: a real one, or the simulator.

A real gateway is OPENAI_BASE_URL + OPENAI_API_KEY (+ OPENAI_MODELS); a
keyless local server (vLLM, Ollama) is OPENAI_BASE_URL alone. With neither,
an in-process simulator on a loopback port stands in, reached over real HTTP
like any gateway.
"""

from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from django.conf import settings

from chatapp.providers import Endpoint, ModelFamily, family_for
from chatapp.providers.simulator import SimulatorServer

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
SIMULATOR_NAME = "Simulator"


@dataclass(frozen=True)
class ModelChoice:
    id: str
    family: ModelFamily

    @property
    def label(self) -> str:
        return self.id if self.family.name == "generic" else self.family.display_name

    @property
    def takes_effort(self) -> bool:
        return self.family.accepts_effort()


def is_simulated() -> bool:
    return not (settings.OPENAI_API_KEY or settings.OPENAI_BASE_URL)


@cache
def _simulator_url(chunk_delay: float) -> str:
    return SimulatorServer(chunk_delay=chunk_delay).start_in_thread()


def default_endpoint() -> Endpoint:
    if is_simulated():
        return Endpoint(
            name=SIMULATOR_NAME, base_url=_simulator_url(settings.SIMULATOR_CHUNK_DELAY)
        )
    return Endpoint(
        name=_gateway_name(settings.OPENAI_BASE_URL or OPENAI_DEFAULT_BASE_URL),
        base_url=settings.OPENAI_BASE_URL or OPENAI_DEFAULT_BASE_URL,
        api_key=settings.OPENAI_API_KEY,
    )


def _gateway_name(base_url: str) -> str:
    return urlsplit(base_url).hostname or "the gateway"


def available_models() -> list[ModelChoice]:
    return [
        ModelChoice(id=model_id, family=family_for(model_id)) for model_id in settings.OPENAI_MODELS
    ]


def find_model(model_id: str) -> ModelChoice | None:
    return next((m for m in available_models() if m.id == model_id), None)
