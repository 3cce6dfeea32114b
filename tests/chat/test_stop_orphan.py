"""Stop on an answer whose process died answers at once.

The answer's process listened on a channel of its own for Stop; dead, it
hears nothing, and the Stop used to do nothing visible until recovery came
round (three missed heartbeats, then its next round). A process that died
took its subscription with it, so Redis counts no one on that channel; with
the in-memory layer there is only this process, which knows its own.
"""

import pytest
from django.utils import timezone

from chatapp.chat.models import Message, Role, Status
from chatapp.usage.models import Outcome, UsageRecord

from .live import message_pk

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def orphan(alice_conversation):
    """An answer half written by a process that has just died: its heartbeat is fresh."""
    question = Message.objects.create(
        conversation=alice_conversation, role=Role.USER, content="Explain heaps"
    )
    return Message.objects.create(
        conversation=alice_conversation,
        role=Role.ASSISTANT,
        in_reply_to=question,
        status=Status.STREAMING,
        model="o4-mini",
        reasoning="A heap is a tree",
        content="A heap keeps",
        generation_channel="specific.3c1d9e!a7f0b2c4d5e6",
        heartbeat_at=timezone.now(),
    )


async def stop_is_answered_at_once(sockets, alice_session, conversation, orphan):
    socket = await sockets(conversation.public_id, alice_session)
    await socket.send(action="stop")

    final = await socket.receive_final("interrupted", timeout=2)
    assert message_pk(final) == orphan.pk
    await orphan.arefresh_from_db()
    assert orphan.status == Status.INTERRUPTED
    assert orphan.content == "A heap keeps" and orphan.reasoning == "A heap is a tree"
    assert await UsageRecord.objects.filter(message=orphan, outcome=Outcome.INTERRUPTED).aexists()

    reply_id = await socket.ask("Explain heaps again")
    assert (await Message.objects.aget(pk=reply_id)).status == Status.COMPLETE


async def test_stop_for_a_dead_process_marks_the_answer_interrupted_at_once(
    sockets, alice_session, alice_conversation, orphan
):
    await stop_is_answered_at_once(sockets, alice_session, alice_conversation, orphan)


async def test_stop_for_a_dead_process_elsewhere_marks_the_answer_interrupted_at_once(
    redis_layer, sockets, alice_session, alice_conversation, orphan
):
    await stop_is_answered_at_once(sockets, alice_session, alice_conversation, orphan)
