"""A stopped answer still cost its streamed tokens: the record must not say zero."""

import pytest

from chatapp.chat.models import Message
from chatapp.usage.models import UsageRecord
from tests.chat.live import deltas

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_stopped_completion_counts_the_tokens_already_streamed(
    settings, sockets, alice_session, alice_conversation
):
    settings.SIMULATOR_CHUNK_DELAY = 0.02
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Take your time", model="o4-mini", reasoning_effort="low")
    reply_id = await socket.receive_reply_id()
    await socket.receive_until(lambda f: deltas(f, reply_id, "answer"))
    await socket.send(action="stop")
    await socket.receive_final("stopped")

    reply = await Message.objects.aget(pk=reply_id)
    streamed_tokens = (len(reply.content) + len(reply.reasoning)) // 4
    assert streamed_tokens > 50
    record = await UsageRecord.objects.aget()
    assert record.outcome == "stopped"
    assert record.estimated
    assert record.completion_tokens >= streamed_tokens
    assert record.reasoning_tokens > 0
    assert record.prompt_tokens > 0, "the question was sent and billed"
    assert record.cost > 0
