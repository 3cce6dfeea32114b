"""An answer's life at its edges: the server stopping during its final save, its
conversation deleted while it is written, recovery and the batched saves' pace."""

import asyncio
import threading
from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.utils import timezone

from chatapp.chat import generation, recovery
from chatapp.chat.models import Conversation, Message, Role, Status
from chatapp.usage.models import UsageRecord
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def held_final_save(monkeypatch):
    """The final save blocks (in its worker thread) until ``release`` is set."""
    entered, release = threading.Event(), threading.Event()
    save_outcome = generation.Generation._save_outcome

    def held(self, usage):
        entered.set()
        release.wait(10)
        return save_outcome(self, usage)

    monkeypatch.setattr(generation.Generation, "_save_outcome", held)
    yield entered, release
    release.set()  # never leave a worker thread waiting


async def test_a_shutdown_during_the_final_save_still_shows_and_keeps_the_answer(
    held_final_save, sockets, alice_session, alice_conversation
):
    """The server stopping (``interrupt_all``) as an answer is being saved cancelled
    the save's await: its viewers never got the finished answer, and the server
    did not wait for the save it had started."""
    entered, release = held_final_save
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Explain heaps", model="o4-mini", reasoning_effort="low")
    reply_id = await socket.receive_reply_id()

    async def saving() -> bool:
        return entered.is_set()

    await wait_for(saving)
    task = generation.running(alice_conversation.pk).task
    stopping = asyncio.create_task(generation.interrupt_all(timeout=5))

    async def cancelled() -> bool:
        return task.cancelling() > 0

    await wait_for(cancelled)  # the cancellation lands while the save is held
    release.set()
    await stopping

    final = await socket.receive_final("complete", timeout=2)
    assert final.get("id") == f"message-{reply_id}"
    stored = await Message.objects.aget(pk=reply_id)
    assert stored.status == Status.COMPLETE
    assert await UsageRecord.objects.filter(message_id=reply_id).acount() == 1


async def test_an_answer_whose_conversation_was_deleted_meanwhile_is_still_billed(
    monkeypatch, sockets, alice, alice_session, alice_conversation
):
    """The gateway billed the completion; deleting the conversation (or the member)
    while it was written made the usage row's insert fail, so none was kept."""
    save_outcome = generation.Generation._save_outcome

    def deleted_first(self, usage):
        Conversation.objects.filter(pk=self.conversation.pk).delete()
        return save_outcome(self, usage)

    monkeypatch.setattr(generation.Generation, "_save_outcome", deleted_first)
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Explain heaps", model="o4-mini", reasoning_effort="low")
    reply_id = await socket.receive_reply_id()

    async def ended() -> bool:
        return generation.running(alice_conversation.pk) is None

    await wait_for(ended)
    assert not await Message.objects.filter(pk=reply_id).aexists()
    record = await UsageRecord.objects.aget(user=alice)
    assert record.outcome == "complete"
    assert record.conversation_id is None and record.message_id is None
    assert record.completion_tokens > 0


async def test_recovery_leaves_alone_an_answer_saved_at_the_batched_saves_pace(
    settings, alice_conversation
):
    """Heartbeats are written by the batched saves, so never more often than
    CHAT_PERSIST_SECONDS: with that longer than CHAT_HEARTBEAT_SECONDS, recovery
    took answers still being written elsewhere for dead between two saves."""
    settings.CHAT_HEARTBEAT_SECONDS = 1
    settings.CHAT_PERSIST_SECONDS = 5
    question = await Message.objects.acreate(
        conversation=alice_conversation, role=Role.USER, content="Explain heaps"
    )
    reply = await Message.objects.acreate(
        conversation=alice_conversation,
        role=Role.ASSISTANT,
        in_reply_to=question,
        status=Status.STREAMING,
        model="o4-mini",
    )
    # Saved four seconds ago by its (live) process: the next save is a second away.
    beat = timezone.now() - timedelta(seconds=4)
    await Message.objects.filter(pk=reply.pk).aupdate(created_at=beat, heartbeat_at=beat)

    assert await recovery.interrupt_orphans() == 0
    assert (await Message.objects.aget(pk=reply.pk)).status == Status.STREAMING


async def test_a_failed_final_save_keeps_all_the_text_the_viewers_were_shown(
    settings, monkeypatch, sockets, alice_session, alice_conversation
):
    """The batched saves leave a finishing answer alone, so when its final save
    failed, recovery ended it with the text of the last batched save: the end of
    an answer the member had watched arrive was gone."""
    settings.CHAT_PERSIST_SECONDS = 60  # no batched save lands while it streams

    def failing(self, usage):
        raise DatabaseError("the final transaction failed")

    monkeypatch.setattr(generation.Generation, "_save_outcome", failing)
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Explain heaps", model="o4-mini", reasoning_effort="low")
    reply_id = await socket.receive_reply_id()
    writing = generation.running(alice_conversation.pk)

    async def ended() -> bool:
        return writing.task.done()

    await wait_for(ended)
    assert writing.text and writing.reasoning
    stored = await Message.objects.select_related("conversation").aget(pk=reply_id)
    assert await recovery.recover(stored)
    stored = await Message.objects.aget(pk=reply_id)
    assert stored.status == Status.INTERRUPTED
    assert (stored.content, stored.reasoning) == (writing.text, writing.reasoning)
