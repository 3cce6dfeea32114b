"""Fixtures for chat tests: the simulator as the gateway, logged-in sessions, live sockets."""

import asyncio
import contextlib
import uuid
from dataclasses import dataclass

import pytest
from channels.layers import channel_layers
from django.test import Client

from chatapp.chat.models import Conversation, Message, Role
from tests.scaleout.conftest import _redis_base_url
from tests.scaleout.harness import require

from .live import ORIGIN, finish_generations, open_socket

MODELS = ["o4-mini", "o3-mini", "o1-mini"]


@pytest.fixture(autouse=True)
def simulated_gateway(settings):
    """The built-in simulator answers, whatever the developer's environment says."""
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""
    settings.OPENAI_MODELS = list(MODELS)
    # Logging in is not what these tests measure: a fast hasher keeps them quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def session_key(user) -> str:
    """A real session for ``user``, as the browser's ``sessionid`` cookie carries it."""
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@pytest.fixture
def alice_session(alice) -> str:
    return session_key(alice)


@pytest.fixture
def bob_session(bob) -> str:
    return session_key(bob)


@pytest.fixture
def alice_conversation(alice) -> Conversation:
    return Conversation.objects.create(owner=alice, model="o4-mini")


@pytest.fixture
def add_answered_questions():
    """Append ``count`` finished question-and-answer pairs ("Question n", "Answer n")."""

    def add(conversation: Conversation, count: int) -> None:
        for number in range(count):
            question = Message.objects.create(
                conversation=conversation, role=Role.USER, content=f"Question {number}"
            )
            Message.objects.create(
                conversation=conversation,
                role=Role.ASSISTANT,
                in_reply_to=question,
                content=f"Answer {number}",
                rendered_html=f"<p>Answer {number}</p>",
            )

    return add


@pytest.fixture
def bob_conversation(bob) -> Conversation:
    return Conversation.objects.create(owner=bob, model="o4-mini")


@pytest.fixture
async def fresh_channel_layer():
    """A channel layer made in this test's event loop (Redis layers hold loop-bound locks)."""
    channel_layers.backends.clear()
    yield
    for layer in list(channel_layers.backends.values()):
        if hasattr(layer, "close_pools"):
            await layer.close_pools()
    channel_layers.backends.clear()


@dataclass(frozen=True)
class RedisLayer:
    url: str
    prefix: str


@pytest.fixture
def redis_layer(settings) -> RedisLayer:
    """The Redis pub/sub channel layer, as with several processes, under a prefix of its own."""
    url = _redis_base_url()
    require(url, "redis (the channel layer)")
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [url], "prefix": prefix},
        }
    }
    return RedisLayer(url, prefix)


@pytest.fixture
async def sockets(fresh_channel_layer):
    """Open websockets through the real ASGI stack; all closed, all generations ended, after."""
    opened = []

    async def connect(public_id, session=None, origin=ORIGIN, seen=None):
        socket = await open_socket(public_id, session, origin, seen)
        opened.append(socket)
        return socket

    yield connect
    try:
        await finish_generations()
    finally:
        for socket in opened:
            if socket.connected:
                # A consumer that crashed re-raises here; the test has reported it already.
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await socket.communicator.disconnect()
