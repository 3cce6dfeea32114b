"""An answer whose final save fails is not left "being written" for ever.

The process stops counting it as its own, so the periodic recovery marks it
interrupted (keeping its text) and the member can send again.
"""

import asyncio

import pytest
from django.db import DatabaseError

from chatapp.chat import generation, recovery
from chatapp.chat.models import Message, Status
from tests.conftest import wait_for

from .live import final_article

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_failed_final_save_is_recovered_and_the_member_can_send_again(
    settings, monkeypatch, sockets, alice_session, alice_conversation
):
    settings.CHAT_HEARTBEAT_SECONDS = 0.1  # recovery's cutoff: three missed beats
    save_outcome = generation.Generation._save_outcome
    failures = []

    def failing_once(self, usage):
        if not failures:
            failures.append(self.message.pk)
            raise DatabaseError("the database went away")
        return save_outcome(self, usage)

    monkeypatch.setattr(generation.Generation, "_save_outcome", failing_once)
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Explain heaps", model="o4-mini", reasoning_effort="low")
    reply_id = await socket.receive_reply_id()

    async def failed_and_ended() -> bool:
        return bool(failures) and generation.running(alice_conversation.pk) is None

    await wait_for(failed_and_ended)
    await asyncio.sleep(0.4)  # no heartbeat for longer than recovery's cutoff

    assert await recovery.interrupt_orphans() == 1
    final = await socket.receive_final("interrupted")
    assert final.get("id") == f"message-{reply_id}"
    stored = await Message.objects.aget(pk=reply_id)
    assert stored.status == Status.INTERRUPTED and stored.reasoning

    await socket.send(message="And tries?", model="o4-mini", reasoning_effort="low")
    assert final_article(
        await socket.receive_until(lambda f: final_article(f, "complete")), "complete"
    )
