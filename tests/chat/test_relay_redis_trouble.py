"""With several processes, Redis trouble never costs the answer.

Each answer asks Redis whether another process has viewers. A burst of
answers starting asked on more connections than redis-py's pool holds; the
refused counts sent every event through Redis, the layer's own publishes
were refused with them, and a refused publish failed the send itself: the
socket closed and the answer stayed "streaming" with nothing writing it.
"""

import asyncio

import pytest
import redis.asyncio as redis
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer
from redis.exceptions import ConnectionError as RedisConnectionError

from chatapp.chat import relay
from chatapp.chat.models import Message, Role, Status

from .live import message_pk

pytestmark = pytest.mark.django_db(transaction=True)

BURST = 150


async def test_a_burst_of_answers_starting_counts_the_viewers_elsewhere_right(
    redis_layer, fresh_channel_layer, settings
):
    # This process's layer names its connections, so Redis can count them.
    name = f"{redis_layer.prefix}-here"
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [
        {"address": redis_layer.url, "client_name": name}
    ]
    # Another process's view of the same Redis: a layer of its own, with its own connections.
    elsewhere = RedisPubSubChannelLayer(hosts=[redis_layer.url], prefix=redis_layer.prefix)
    await elsewhere.group_add("conv.watched", await elsewhere.new_channel())
    watcher = redis.Redis.from_url(redis_layer.url)
    try:
        counted = await asyncio.gather(
            *(relay.watched_elsewhere(f"conv.{group}") for group in ("watched", "alone") * BURST)
        )
        here = [client for client in await watcher.client_list() if client["name"] == name]
    finally:
        await elsewhere.flush()
        await watcher.aclose()

    assert counted == [True, False] * BURST
    # Each new connection costs the event loop more than a count: a handful serve the burst.
    assert 1 <= len(here) <= 8


async def test_when_redis_refuses_the_viewers_here_still_get_the_whole_answer(
    redis_layer, sockets, alice_session, alice_conversation, monkeypatch
):
    async def someone_elsewhere(group: str) -> bool:
        return True

    async def refused(*args, **kwargs):
        raise RedisConnectionError("Too many connections")

    monkeypatch.setattr(relay, "watched_elsewhere", someone_elsewhere)
    socket = await sockets(alice_conversation.public_id, alice_session)
    monkeypatch.setattr(RedisPubSubLoopLayer, "group_send", refused)

    await socket.send(message="Explain heaps", model="o4-mini", reasoning_effort="low")
    article = await socket.receive_final("complete")

    answer = await Message.objects.aget(pk=message_pk(article), role=Role.ASSISTANT)
    assert answer.status == Status.COMPLETE
    assert "simulated answer about Explain heaps" in article.visible_text


async def test_a_count_that_hangs_gives_up_and_relays_to_every_process(
    redis_layer, fresh_channel_layer, monkeypatch
):
    async def hang(self, *channels):
        await asyncio.sleep(3600)

    monkeypatch.setattr(redis.Redis, "pubsub_numsub", hang)
    loop = asyncio.get_running_loop()
    started = loop.time()

    counted = await asyncio.gather(*(relay.watched_elsewhere(f"conv.{n}") for n in range(8)))

    assert counted == [True] * 8  # nobody is left out
    assert loop.time() - started < 2 * relay.COUNT_TIMEOUT_SECONDS


async def test_when_redis_hangs_the_viewers_here_still_get_the_answer_as_it_streams(
    redis_layer, sockets, alice_session, alice_conversation, monkeypatch, settings
):
    """A Redis that takes publishes and never answers (overloaded, or cut off)
    held every delta of the answer behind the one before it: the viewers here
    got the text in bursts, a publish's timeout apart, or not at all."""
    settings.SIMULATOR_CHUNK_DELAY = 0.005

    async def someone_elsewhere(group: str) -> bool:
        return True

    async def hang(*args, **kwargs):
        await asyncio.sleep(3600)

    monkeypatch.setattr(relay, "watched_elsewhere", someone_elsewhere)
    socket = await sockets(alice_conversation.public_id, alice_session)
    monkeypatch.setattr(RedisPubSubLoopLayer, "group_send", hang)
    loop = asyncio.get_running_loop()
    started = loop.time()

    await socket.send(message="Explain heaps", model="o4-mini", reasoning_effort="low")
    article = await socket.receive_final("complete", timeout=15)

    assert "simulated answer about Explain heaps" in article.visible_text
    assert loop.time() - started < 2 * relay.PUBLISH_TIMEOUT_SECONDS + 1


async def test_after_a_count_that_hung_the_next_answers_do_not_wait_for_one(
    redis_layer, fresh_channel_layer, monkeypatch
):
    """Each new answer's first text waited for its own count's timeout, a second,
    for as long as Redis hung; they are relayed everywhere meanwhile."""
    monkeypatch.setattr(relay, "COUNTS_PAUSED_SECONDS", 0.5)
    answering = redis.Redis.pubsub_numsub
    asked = []

    async def hang(self, *channels):
        asked.append(channels)
        await asyncio.sleep(3600)

    monkeypatch.setattr(redis.Redis, "pubsub_numsub", hang)
    assert await relay.watched_elsewhere("conv.first")  # waits out its timeout
    loop = asyncio.get_running_loop()
    started = loop.time()

    counted = [await relay.watched_elsewhere(f"conv.{n}") for n in range(5)]

    assert counted == [True] * 5
    assert loop.time() - started < 0.2
    assert len(asked) == 1
    # Redis answers again: once the pause is over, it is asked again.
    monkeypatch.setattr(redis.Redis, "pubsub_numsub", answering)
    await asyncio.sleep(0.6)
    assert await relay.watched_elsewhere("conv.nobody-watches") is False
