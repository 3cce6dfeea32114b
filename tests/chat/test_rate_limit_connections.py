"""Counting sends in Redis takes a few connections per process, not one per socket.

Django's ``caches["default"]`` is a new client in every thread and asyncio
task, so each websocket's first send once opened a connection pool of its
own, held while the socket stayed open: a thousand people online meant a
thousand Redis connections, and a new one set up on the way to every first
answer. Sends are counted in worker threads: one connection per thread
counting at once.
"""

import contextlib
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from chatapp.ratelimit import COUNT_TIMEOUT_SECONDS, allow_send

SOCKETS = 12
THREADS = 4


@pytest.fixture
def redis_connections(redis_cache, settings):
    """Count sends in Redis; yield a function returning how many connections the cache has."""
    settings.CHAT_SENDS_PER_MINUTE = 100
    client = redis.Redis.from_url(redis_cache.url)

    def connected() -> int:
        return sum(1 for entry in client.client_list() if entry["name"] == redis_cache.name)

    yield connected
    client.close()


def test_sends_from_many_sockets_one_after_another_share_one_connection(redis_connections):
    before = redis_connections()
    with ThreadPoolExecutor(THREADS) as threads:
        verdicts = [threads.submit(allow_send, user_id).result() for user_id in range(SOCKETS)]

    assert verdicts == [(True, 0.0)] * SOCKETS
    assert (before, redis_connections()) == (0, 1)


def test_a_burst_of_sends_takes_a_connection_per_thread_at_most(redis_connections):
    with ThreadPoolExecutor(THREADS) as threads:
        verdicts = list(threads.map(allow_send, range(60)))

    assert verdicts == [(True, 0.0)] * 60
    assert 1 <= redis_connections() <= THREADS


@pytest.fixture
def silent_redis(settings):
    """A cache server that accepts connections and never answers (overloaded, or cut off)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def accept_forever():
        with contextlib.suppress(OSError):
            while True:
                accepted.append(listener.accept()[0])

    threading.Thread(target=accept_forever, daemon=True).start()
    settings.CHAT_SENDS_PER_MINUTE = 100
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{listener.getsockname()[1]}/0",
        }
    }
    yield
    listener.close()
    for connection in accepted:
        connection.close()


def test_a_redis_that_never_answers_delays_one_send_not_every_one(silent_redis):
    """Each send waited out the timeout in its worker thread before it was let
    through: with the default pool's few threads, a burst of sends queued for
    seconds, and the finished answers' saves waited behind them."""
    started = time.monotonic()
    verdicts = [allow_send(user_id) for user_id in range(5)]

    assert verdicts == [(True, 0.0)] * 5
    assert time.monotonic() - started < 2 * COUNT_TIMEOUT_SECONDS
