"""/readyz, probed every few seconds by a load balancer, leaves nothing behind in Redis."""

import asyncio
import os
import uuid

import channels.layers
import pytest
import redis.asyncio
from channels_redis.pubsub import RedisPubSubChannelLayer

from chatapp import observability
from tests.scaleout.harness import require

REDIS_URL = os.environ.get("REDIS_URL", "").strip() or "redis://127.0.0.1:6379/0"


async def test_the_channel_layer_probe_unsubscribes_its_channel(monkeypatch):
    require(REDIS_URL, "Redis")
    prefix = f"readyz-test-{uuid.uuid4().hex}."
    layer = RedisPubSubChannelLayer(hosts=[{"address": REDIS_URL}], prefix=prefix)
    monkeypatch.setattr(channels.layers, "get_channel_layer", lambda *args: layer)
    client = redis.asyncio.from_url(REDIS_URL)
    try:
        for _ in range(3):
            await observability._check_channel_layer()
        # Each probe's channel stayed subscribed, in Redis and in the process
        # (a queue each): one more per probe, for as long as the process ran.
        for _ in range(50):
            left = await client.pubsub_channels(f"{prefix}*")
            if not left:
                break
            await asyncio.sleep(0.02)
        assert left == []
        assert layer._get_layer().channels == {}
    finally:
        await layer.flush()
        await client.aclose()


async def test_the_probe_still_fails_when_no_message_comes_back(monkeypatch):
    require(REDIS_URL, "Redis")
    layer = RedisPubSubChannelLayer(hosts=[{"address": REDIS_URL}], prefix="readyz-test-lost.")

    async def lost(channel, message):
        return None

    monkeypatch.setattr(layer, "send", lost)
    monkeypatch.setattr(channels.layers, "get_channel_layer", lambda *args: layer)
    try:
        with pytest.raises(TimeoutError):
            await observability._check_channel_layer(timeout=0.2)
        assert layer._get_layer().channels == {}
    finally:
        await layer.flush()
