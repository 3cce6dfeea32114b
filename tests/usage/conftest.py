# The chat tests' fixtures: simulated gateway, sessions, sockets on the real ASGI stack.
from tests.chat.conftest import (  # noqa: F401
    alice_conversation,
    alice_session,
    fresh_channel_layer,
    simulated_gateway,
    sockets,
)
