"""Provider fixtures: a scripted gateway, and the contract every request body must meet."""

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from .scripted import ScriptedGateway

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "contracts" / "openai-chat-completions.schema.json").read_text()
)
REQUEST_CONTRACT = Draft202012Validator({**SCHEMA, "$ref": "#/$defs/CreateChatCompletionRequest"})
CHUNK_CONTRACT = Draft202012Validator({**SCHEMA, **SCHEMA["stream_chunk"]})
ERROR_CONTRACT = Draft202012Validator({**SCHEMA, **SCHEMA["error"]})


@pytest.fixture
async def gateway():
    """A local gateway answering with scripted responses (recorded streams, error bodies)."""
    server = ScriptedGateway()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def keep_alive_gateway():
    """The same, keeping connections open between answers as real gateways do."""
    server = ScriptedGateway(keep_alive=True)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(autouse=True)
def request_bodies_follow_the_contract(request):
    """Every body the client sent to a test server must be a valid Chat Completions request."""
    yield
    for name in ("simulator", "gateway", "keep_alive_gateway"):
        server = request.node.funcargs.get(name)
        for received in getattr(server, "received", ()):
            if received.body is not None:
                REQUEST_CONTRACT.validate(received.body)
