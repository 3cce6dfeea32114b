"""A member who sends faster than the server allows is told to wait, and loses nothing."""

import pytest
from django.core.cache import cache

from chatapp.chat.models import Message, Role

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def two_sends_a_minute(settings):
    settings.CHAT_SENDS_PER_MINUTE = 2
    cache.clear()
    yield
    cache.clear()


async def test_a_send_over_the_limit_is_refused_with_the_wait(
    sockets, alice_session, alice_conversation
):
    socket = await sockets(alice_conversation.public_id, alice_session)
    for text in ("one", "two"):
        await socket.send(message=text, reasoning_effort="low")
        await socket.receive_final("complete")

    await socket.send(message="three", reasoning_effort="low")
    status = await socket.receive_status()

    assert status.startswith("You are sending too fast. Try again in ")
    questions = [m.content async for m in Message.objects.filter(role=Role.USER)]
    assert questions == ["one", "two"]
    assert not any('id="message-input"' in f for f in socket.frames[-1:]), (
        "the refused text stays in the message box"
    )
