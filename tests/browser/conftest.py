"""Browser tests: the real app in a daphne subprocess, driven by Debian's Chromium.

Each server is a separate process with its own SQLite database under pytest's
temporary directory, the built-in simulator as its gateway (no OPENAI_* vars)
and DEBUG on so WhiteNoise serves static files from the finders. The test
process never touches the database through the ORM: Playwright's sync API
runs an event loop in this thread, so Django would refuse (SynchronousOnly-
Operation). Set-up goes through ``manage.py`` subprocesses instead, with the
server's environment, or through the browser like a person.

Fixtures:

- ``app_server``: one server shared by the session (started again if a test
  stopped it). Not named ``live_server``: pytest-django would then set up its
  own test database in this process.
- ``start_server(name, database=None, **env)``: more servers, stopped after the
  test: a fresh, empty install (first-run set-up), or another process on an
  existing server's ``database``; keyword arguments are extra environment
  (``REDIS_URL=...``, ``DATABASE_URL=...``). ``server.restart(kill=True)``
  simulates a crash and a restart on the same port and database.
- ``slow_server``: like ``app_server``, but its simulator streams at
  ``SLOW_CHUNK_DELAY``, so a test can stop, reload or crash mid-answer.
- ``browser``: one Chromium for the session; ``new_page(server)`` gives a
  page in a fresh context (own cookies) per call, ``page`` one on
  ``app_server``.
- ``log_in(page, server)``: creates a user with ``createsuperuser`` and logs
  in through the login form.

When a test fails, the server log lines written during it and the browser's
console errors are printed with the failure.
"""

import itertools
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.processes import ROOT, SERVE, manage

APPLICATION = "chatapp.asgi:application"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Slow enough that a person (and a test) sees reasoning and answer stream,
# fast enough that a high-effort answer takes a few seconds.
CHUNK_DELAY = "0.02"
# For journeys that act in the middle of an answer (stop, reload): low effort then
# thinks for about 2 s and writes its answer for about 2 s more.
SLOW_CHUNK_DELAY = "0.06"
START_TIMEOUT = 30.0
PASSWORD = "correct-horse-battery-9"

expect.set_options(timeout=15_000)

_user_numbers = itertools.count(1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(database: Path, **extra: str) -> dict[str, str]:
    """The environment of a test server: own database, simulator, debug on."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("OPENAI_")
        and key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="chatapp.settings",
        DATABASE_URL=f"sqlite:///{database}",
        DEBUG="1",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SIMULATOR_CHUNK_DELAY=CHUNK_DELAY,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@dataclass
class LiveServer:
    """One daphne process serving chatapp on a loopback port."""

    name: str
    directory: Path
    database: Path
    env: dict[str, str]
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen | None = None
    log_path: Path = field(init=False)
    _log_file: object = None
    _starts: int = 0

    def __post_init__(self) -> None:
        self.log_path = self.directory / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "LiveServer":
        self._starts += 1
        self._log_file = self.log_path.open("ab")
        self._log_file.write(f"=== start #{self._starts} on port {self.port}\n".encode())
        self._log_file.flush()
        self.process = subprocess.Popen(
            [*SERVE, "-b", "127.0.0.1", "-p", str(self.port), APPLICATION],
            cwd=ROOT,
            env=self.env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.stop()
                pytest.fail(
                    f"server {self.name} exited with {code} on start:\n" + self.log(),
                    pytrace=False,
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"server {self.name} did not listen within {START_TIMEOUT} s:\n" + self.log())

    def stop(self, kill: bool = False) -> None:
        """Terminate (or, with ``kill``, SIGKILL: a crash) and wait for the process."""
        if self.process is not None and self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def restart(self, kill: bool = False) -> "LiveServer":
        self.stop(kill=kill)
        return self.start()

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return manage(self.env, *args)

    def create_user(self, username: str, password: str = PASSWORD) -> str:
        """A (super)user, made the way an operator would: ``createsuperuser``."""
        env = {**self.env, "DJANGO_SUPERUSER_PASSWORD": password}
        manage(
            env,
            "createsuperuser",
            "--noinput",
            "--username",
            username,
            "--email",
            f"{username}@example.com",
        )
        return username

    def log(self, start: int = 0) -> str:
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(start)
            return log.read().decode(errors="replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0


_servers: list[LiveServer] = []


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory) -> Path:
    """An empty, migrated database that every server starts from (migrate runs once)."""
    database = tmp_path_factory.mktemp("template") / "db.sqlite3"
    manage(server_environment(database), "migrate", "--noinput")
    return database


@pytest.fixture(scope="session")
def _server_factory(tmp_path_factory, migrated_database) -> Iterator:
    started: list[LiveServer] = []

    def start(name: str = "server", database: Path | None = None, **env: str) -> LiveServer:
        """A new server; on a copy of the empty database unless ``database`` is given."""
        directory = tmp_path_factory.mktemp(name)
        if database is None:
            database = directory / "db.sqlite3"
            shutil.copyfile(migrated_database, database)
        server = LiveServer(
            name=name,
            directory=directory,
            database=database,
            env=server_environment(database, **env),
        )
        _servers.append(server)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def _shared_server(_server_factory) -> LiveServer:
    return _server_factory("shared")


@pytest.fixture
def app_server(_shared_server) -> LiveServer:
    """The shared server (restarted if a test stopped it). For an empty install use
    ``start_server``."""
    if not _shared_server.running:
        _shared_server.start()
    return _shared_server


@pytest.fixture(scope="session")
def _slow_shared_server(_server_factory) -> LiveServer:
    return _server_factory("slow", SIMULATOR_CHUNK_DELAY=SLOW_CHUNK_DELAY)


@pytest.fixture
def slow_server(_slow_shared_server) -> LiveServer:
    """A shared server whose simulator streams slowly enough to act mid-answer."""
    if not _slow_shared_server.running:
        _slow_shared_server.start()
    return _slow_shared_server


@pytest.fixture
def start_server(_server_factory) -> Iterator:
    """Start extra servers for one test; they stop when the test ends."""
    mine: list[LiveServer] = []

    def start(name: str = "extra", database: Path | None = None, **env: str) -> LiveServer:
        server = _server_factory(name, database, **env)
        mine.append(server)
        return server

    yield start
    for server in mine:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        # Never a skip: in CI (and locally) a missing browser is a failure to fix.
        where = "in CI" if os.environ.get("CI", "").lower() == "true" else "here"
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM} {where}: run bin/ensure-chromium "
            "(or set CHROMIUM=/path/to/chromium).",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, request) -> Iterator:
    """``new_page(server)``: a page in a fresh browser context (its own cookies)."""
    contexts = []
    problems: list[str] = []

    def make(server: LiveServer) -> Page:
        context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                problems.append(f"console {message.type}: {message.text}")
                if message.type in {"error", "warning"}
                else None
            ),
        )
        return page

    request.node.browser_problems = problems
    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page, app_server) -> Page:
    return new_page(app_server)


def log_in(page: Page, server: LiveServer, username: str | None = None) -> str:
    """Create a fresh user on ``server`` and log in through the form, like a person."""
    username = username or f"user{next(_user_numbers)}-{os.getpid()}"
    server.create_user(username)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()
    return username


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def _diagnostics_on_failure(request) -> Iterator[None]:
    """On failure, print what the servers logged during the test and browser errors."""
    offsets = {id(server): server.log_size() for server in _servers}
    yield
    report = getattr(request.node, "report_call", None)
    if report is None or not report.failed:
        return
    for server in _servers:
        new = server.log(offsets.get(id(server), 0))
        if new.strip():
            print(f"\n----- server log: {server.name} ({server.url}) -----\n{new}")
    problems = getattr(request.node, "browser_problems", [])
    if problems:
        print("\n----- browser console -----\n" + "\n".join(problems))
