"""Counting sends in Redis takes one connection per process, not one per socket.

Django's ``caches["default"]`` is a new client in every asyncio task, so each
websocket's first send opened a connection pool of its own, held while the
socket stayed open: a thousand people online meant a thousand Redis
connections, and a new one set up on the way to every first answer.
"""

import asyncio

import pytest
import redis.asyncio as redis

from chatapp.ratelimit import allow_send

SOCKETS = 12


@pytest.fixture
async def redis_clients(redis_cache, settings):
    """Count sends in Redis; yield a function returning how many connections the cache has."""
    settings.CHAT_SENDS_PER_MINUTE = 100
    client = redis.Redis.from_url(redis_cache.url)

    async def connected() -> int:
        return sum(1 for entry in await client.client_list() if entry["name"] == redis_cache.name)

    yield connected
    await client.aclose()


async def test_sends_from_many_open_sockets_share_one_redis_connection(redis_clients):
    before = await redis_clients()
    one_at_a_time = asyncio.Lock()
    all_sent = asyncio.Event()
    sent = 0

    async def socket(user_id: int) -> tuple[bool, float]:
        """One websocket's task: a send (people send at different moments), then it stays open."""
        nonlocal sent
        async with one_at_a_time:
            verdict = await allow_send(user_id)
        sent += 1
        if sent == SOCKETS:
            all_sent.set()
        await all_sent.wait()
        await asyncio.sleep(0.1)
        return verdict

    tasks = [asyncio.create_task(socket(user_id)) for user_id in range(SOCKETS)]
    await all_sent.wait()
    during = await redis_clients()

    assert await asyncio.gather(*tasks) == [(True, 0.0)] * SOCKETS
    assert (before, during) == (0, 1)


async def test_a_burst_of_sends_waits_for_a_few_connections_instead_of_opening_one_each(
    redis_clients,
):
    """Opening a connection costs the event loop more than the count itself."""
    verdicts = await asyncio.gather(*(allow_send(user_id) for user_id in range(60)))

    assert verdicts == [(True, 0.0)] * 60
    assert 1 <= await redis_clients() <= 4
