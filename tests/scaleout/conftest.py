"""Fixtures for scale-out tests: real daphne processes, PostgreSQL, Redis, a simulator process.

PostgreSQL and Redis come from ``SCALEOUT_DATABASE_URL`` / ``SCALEOUT_REDIS_URL``,
else ``DATABASE_URL`` / ``REDIS_URL`` when they point at those servers, else
the ones on this machine (127.0.0.1:5432, database ``test``; 127.0.0.1:6379).
Each run gets its own freshly migrated database (dropped afterwards) and an
empty Redis database number (flushed afterwards). When a service cannot be
reached the tests fail in CI (``CI=true``) and are skipped elsewhere.
"""

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .harness import (
    Server,
    Simulator,
    Visitor,
    create_user,
    manage,
    require,
    server_environment,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# Slow enough to see a stream arrive in pieces and to stop it halfway,
# fast enough that a whole answer takes a few seconds.
CHUNK_DELAY = 0.03


def _postgres_base_url() -> str:
    for name in ("SCALEOUT_DATABASE_URL", "DATABASE_URL"):
        url = os.environ.get(name, "")
        if url.startswith(("postgres://", "postgresql://")):
            return url
    return DEFAULT_DATABASE_URL


def _redis_base_url() -> str:
    for name in ("SCALEOUT_REDIS_URL", "REDIS_URL"):
        url = os.environ.get(name, "")
        if url.startswith(("redis://", "rediss://")):
            return url
    return DEFAULT_REDIS_URL


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        item.stash.setdefault(_failed, True)
    return report


_failed = pytest.StashKey[bool]()


@pytest.fixture
def show_logs_on_failure(request) -> Iterator[list[Server]]:
    """Servers appended to the yielded list have their log printed when the test fails."""
    servers: list[Server] = []
    yield servers
    if request.node.stash.get(_failed, False):
        for server in servers:
            print(f"\n----- log of server {server.name} -----\n{server.log()}")


@pytest.fixture
def start_single_server(tmp_path, show_logs_on_failure) -> Iterator[Callable[[dict], Server]]:
    """Start one server on an environment, its log shown if the test fails; stopped after."""
    started: list[Server] = []

    def start(env: dict[str, str]) -> Server:
        server = Server("single", tmp_path, env)
        show_logs_on_failure.append(server)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def simulator(tmp_path_factory) -> Iterator[Simulator]:
    server = Simulator(tmp_path_factory.mktemp("simulator"), CHUNK_DELAY).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped after the module."""
    base = _postgres_base_url()
    require(base, "database (PostgreSQL)")
    import psycopg
    from psycopg import sql

    name = f"chatapp_scaleout_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    prefix, _, _ = base.rpartition("/")
    yield f"{prefix}/{name}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="module")
def redis_database() -> Iterator[str]:
    """The URL of an empty Redis database number, flushed before and after the module."""
    base = _redis_base_url()
    require(base, "redis (the channel layer)")
    import redis

    prefix, _, _ = base.rstrip("/").rpartition("/")
    if not prefix.startswith("redis"):
        prefix = base.rstrip("/")
    chosen = None
    for number in range(15, 0, -1):
        client = redis.Redis.from_url(f"{prefix}/{number}")
        try:
            if client.dbsize() == 0:
                chosen = number
                break
        finally:
            client.close()
    if chosen is None:
        pytest.fail("no empty Redis database number (1-15) for the scale-out tests")
    url = f"{prefix}/{chosen}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@dataclass
class Cluster:
    """Two app processes on one database and one channel layer, and a user logged in."""

    a: Server
    b: Server
    database_url: str
    username: str
    visitor: Visitor
    env: dict[str, str]
    directory: Path
    extra: list[Server] = field(default_factory=list)

    def start_server(self, name: str) -> Server:
        """Another process on the same database and channel layer, stopped after the module."""
        server = Server(name, self.directory, self.env)
        self.extra.append(server)
        return server.start()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, simulator, postgres_database, redis_database) -> Iterator[Cluster]:
    env = server_environment(postgres_database, simulator, REDIS_URL=redis_database)
    manage(env, "migrate", "--noinput")
    username = create_user(env, "scaleout")
    directory = tmp_path_factory.mktemp("servers")
    a = Server("A", directory, env)
    b = Server("B", directory, env)
    try:
        a.start()
        b.start()
        visitor = Visitor(a, username)
        cluster = Cluster(a, b, postgres_database, username, visitor, env, directory)
        yield cluster
        visitor.close()
        for server in cluster.extra:
            server.stop()
    finally:
        a.stop()
        b.stop()
