"""Shared fixtures: the alice/bob/charlie team, a simulator on a real port, fast streaming."""

import asyncio
import contextlib
import gc
import os
import socket
import uuid
from dataclasses import dataclass

import pytest
import redis

from chatapp.providers.simulator import SimulatorServer
from tests.scaleout.conftest import _redis_base_url
from tests.scaleout.harness import require

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatapp.settings")


def pytest_sessionfinish(session, exitstatus):
    """Remove what SQLite leaves of the test database file.

    Django deletes the file; connections still open in other threads keep
    its write-ahead log and shared-memory files, which piled up in /tmp.
    """
    from django.conf import settings

    name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if name and not os.path.exists(name):
        for leftover in (f"{name}-wal", f"{name}-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(leftover)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(autouse=True)
def fast_streaming(settings):
    """Stream quickly in tests; the pacing itself is not what they check."""
    settings.SIMULATOR_CHUNK_DELAY = 0.001
    settings.CHAT_COALESCE_SECONDS = 0.01
    settings.CHAT_PERSIST_SECONDS = 0.05
    settings.CHAT_HEARTBEAT_SECONDS = 0.5
    # Recovery is started by the server; tests call it directly where they need it.
    settings.CHAT_RECOVERY = False
    # Tests send far faster than a person; the limit has tests of its own.
    settings.CHAT_SENDS_PER_MINUTE = 0


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "alice-pw-123")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", "bob-pw-123")


@pytest.fixture
def charlie(django_user_model):
    return django_user_model.objects.create_user("charlie", "charlie@example.com", "charlie-pw-1")


@pytest.fixture
async def simulator():
    """The simulator on a free loopback port, in the test's own event loop."""
    server = SimulatorServer(chunk_delay=0)
    await server.start()
    yield server
    await server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_for(predicate, timeout: float = 5.0, interval: float = 0.02):
    """Poll an async predicate until it is truthy; fail the test after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's test database, which no session may still hold at the end.

    Sends run their database work in worker threads, each with its own
    connection. When a test's event loop closes, its threads end, but their
    connections close only when collected; PostgreSQL refused to drop a
    database that four such sessions still used.
    """
    yield
    gc.collect()


@dataclass(frozen=True)
class RedisCache:
    url: str
    name: str


@pytest.fixture
def redis_cache(settings) -> RedisCache:
    """Django's cache on Redis, as with several processes. Its keys and its
    connections (Redis lists each with its client name) go under a name of its
    own; the keys are deleted after."""
    url = _redis_base_url()
    require(url, "redis (the cache)")
    name = f"cache-test-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": name,
            "OPTIONS": {"client_name": name},
        }
    }
    yield RedisCache(url, name)
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)
    client.close()
