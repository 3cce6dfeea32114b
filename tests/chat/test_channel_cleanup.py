"""Answers do not pile up subscriptions in the Redis pub/sub layer.

Stop and catch-up requests from other processes reach a generation through
a channel; with Redis a channel is a subscription on the server. One left
behind per answer is a leak an operator would find only when Redis and the
app had grown for weeks, so a process has one such channel, whatever it
writes.
"""

import pytest
import redis.asyncio as redis

from chatapp.chat.models import Message, Role

from .live import deltas

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def redis_subscriptions(redis_layer):
    """A function counting the Redis pub/sub layer's channels on the server."""
    client = redis.Redis.from_url(redis_layer.url)

    async def subscribed() -> set[bytes]:
        return set(await client.pubsub_channels(f"{redis_layer.prefix}*"))

    yield subscribed
    await client.aclose()


async def test_answers_and_refused_sends_add_no_subscriptions(
    settings, redis_subscriptions, sockets, alice_session, alice_conversation
):
    settings.SIMULATOR_CHUNK_DELAY = 0.02  # slow enough to send again while it streams
    socket = await sockets(alice_conversation.public_id, alice_session)
    before = await redis_subscriptions()  # the socket's own channel and its group

    await socket.send(message="Explain heaps", model="o4-mini", reasoning_effort="low")
    reply_id = await socket.receive_reply_id()
    await socket.receive_until(lambda frame: deltas(frame, reply_id, "reasoning"))
    reply = await Message.objects.aget(pk=reply_id, role=Role.ASSISTANT)
    during = await redis_subscriptions()
    # One more: the process's channel for stop and snapshot requests, named on the answer.
    assert during - before == {reply.generation_channel.encode()}

    # A send refused while the answer streams subscribes nothing.
    await socket.send(message="And tries?", model="o4-mini", reasoning_effort="low")
    assert "still being written" in await socket.receive_status()
    await socket.receive_final("complete")

    # Later answers reuse that channel: nothing piles up in Redis.
    await socket.send(message="And tries?", model="o4-mini", reasoning_effort="low")
    await socket.receive_final("complete")
    assert await redis_subscriptions() == during
