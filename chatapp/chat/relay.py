"""Conversation events to every viewer: this process's sockets directly, other processes
through the channel layer.

Every event for a conversation's viewers (a new turn, streamed text, the
finished answer, recovery's verdict) goes through ``publish``. Through the
channel layer, each event cost a copy, a queue and a task switch per
viewer, and with Redis a publish and a decode as well; with hundreds of
answers streaming that was most of the relay's work, though nearly every
viewer sits in the process that generates. So sockets register here and are
called in order, and the layer carries an event only where another process
may have viewers. A process ignores its own events coming back from Redis.
"""

import asyncio
import logging
import uuid
from typing import Protocol

from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from redis.exceptions import RedisError

from chatapp.eventloops import one_per_event_loop

logger = logging.getLogger(__name__)

# Tags this process's events on the layer, so it can skip them when they come back.
PROCESS_ID = uuid.uuid4().hex

# Subscriber counts this process asks Redis for at once. Each takes a
# connection from the layer's pool, which opens a new one rather than wait:
# a burst of answers starting opened dozens, each a TCP connect and a
# handshake (about 0.8 ms of CPU in redis-py, on the event loop), and past
# 100 the pool refused commands, the layer's own publishes with them. A
# count is one round trip of a tenth of a millisecond: a few connections
# serve thousands a second.
COUNTS_AT_ONCE = 4
# A count that takes longer is given up (and everything relayed): a Redis
# that hangs must not hold up new answers. Nor must the next ones: after a
# count failed, counts are not asked for a while, and everything is relayed.
COUNT_TIMEOUT_SECONDS = 1.0
COUNTS_PAUSED_SECONDS = 10.0
# A publish that takes longer is given up, and deltas skip the layer for a
# while: each waited for the one before it, so a Redis that hangs held the
# viewers here behind every delta. Elsewhere, the finished answer (always
# tried) replaces what was missed.
PUBLISH_TIMEOUT_SECONDS = 1.0
DELTAS_PAUSED_SECONDS = 10.0


class _Pause:
    """Until when (the event loop's clock) something Redis failed at is not asked of it."""

    until = 0.0


@one_per_event_loop
def _delta_pause() -> _Pause:
    """Deltas skip the layer, after a publish failed."""
    return _Pause()


@one_per_event_loop
def _count_pause() -> _Pause:
    """Subscribers are not counted, after a count failed."""
    return _Pause()


@one_per_event_loop
def _counting_slots() -> asyncio.Semaphore:
    return asyncio.Semaphore(COUNTS_AT_ONCE)


class Viewer(Protocol):
    async def deliver(self, event: dict) -> None: ...


_viewers: dict[str, list[Viewer]] = {}


def watch(group: str, viewer: Viewer) -> None:
    _viewers.setdefault(group, []).append(viewer)


def unwatch(group: str, viewer: Viewer) -> None:
    viewers = _viewers.get(group, [])
    if viewer in viewers:
        viewers.remove(viewer)
    if not viewers:
        _viewers.pop(group, None)


def spans_processes() -> bool:
    """Whether other processes share this channel layer (Redis), so may have viewers."""
    return not isinstance(get_channel_layer(), InMemoryChannelLayer)


async def publish(group: str, event: dict, *, elsewhere: bool = True) -> None:
    """Give ``event`` to the group's viewers here and, with ``elsewhere``, in other processes."""
    for viewer in tuple(_viewers.get(group, ())):
        try:
            await viewer.deliver(event)
        except Exception:
            # A socket that broke must not keep the others from their stream.
            logger.exception("could not relay to a viewer; dropping it")
            unwatch(group, viewer)
    if not (elsewhere and spans_processes()):
        return
    loop, pause = asyncio.get_running_loop(), _delta_pause()
    if event["type"] == "chat.delta" and loop.time() < pause.until:
        return
    try:
        async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
            await get_channel_layer().group_send(group, {**event, "origin": PROCESS_ID})
    except (RedisError, OSError):  # TimeoutError included
        # Viewers here have it. Elsewhere, a missed delta is repaired by the
        # finished answer, which replaces the streamed text.
        pause.until = loop.time() + DELTAS_PAUSED_SECONDS
        logger.warning("could not relay to other processes", exc_info=True)


async def watched_elsewhere(group: str) -> bool:
    """Whether a socket in another process may be watching ``group`` right now.

    With the Redis pub/sub layer every process with a viewer of the group
    subscribes to the group's channel, so Redis counts them (asked on the
    layer's own connection: channels-redis internals, pinned below 5). A
    viewer that arrives later asks the generation for a snapshot, which
    tells it then. Other layers: assume someone is.
    """
    layer = get_channel_layer()
    if not spans_processes():
        return False
    if not isinstance(layer, RedisPubSubChannelLayer):
        return True
    channel = layer._get_group_channel_name(group)
    subscribed_here = channel in layer.groups
    subscribers = await _subscribers(layer, channel)
    if subscribers is None:
        return True  # relay to all
    return subscribers > (1 if subscribed_here else 0)


async def still_listened(channel: str) -> bool:
    """Whether a process may still be listening on ``channel``, another process's own.

    A process that died took its subscriptions with it, so Redis counts no
    one there. Other layers, or a count that failed: assume someone is.
    """
    layer = get_channel_layer()
    if not isinstance(layer, RedisPubSubChannelLayer):
        return True
    return await _subscribers(layer, channel) != 0


async def _subscribers(layer: RedisPubSubChannelLayer, channel: str) -> int | None:
    """How many processes are subscribed to ``channel``; None if Redis did not say."""
    loop, pause = asyncio.get_running_loop(), _count_pause()
    if loop.time() < pause.until:
        return None
    shard = layer._get_shard(channel)
    shard._ensure_redis()
    try:
        async with asyncio.timeout(COUNT_TIMEOUT_SECONDS), _counting_slots():
            [(_, subscribers)] = await shard._redis.pubsub_numsub(channel)
    except (RedisError, OSError):  # TimeoutError included
        pause.until = loop.time() + COUNTS_PAUSED_SECONDS
        logger.warning("could not count the processes listening on a channel", exc_info=True)
        return None
    return subscribers
