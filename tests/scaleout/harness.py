"""Real processes for scale-out tests: simulator, daphne servers, logged-in clients, sockets.

Everything here talks to the app the way a browser and an operator do: over
HTTP and websockets, and through ``manage.py``. The test process never opens
the app's database through the ORM; it reads rows with a plain driver
(psycopg or sqlite3) to check what was stored.
"""

import asyncio
import contextlib
import html
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.processes import ROOT, SERVE, manage

APPLICATION = "chatapp.asgi:application"
START_TIMEOUT = 30.0
PASSWORD = "scale-out-horse-battery-7"
MODEL = "o4-mini"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unreachable(url: str) -> str | None:
    """Why the service at ``url`` cannot be reached, or None when it answers on its port."""
    parts = urlsplit(url)
    default = {"postgres": 5432, "postgresql": 5432, "redis": 6379}.get(parts.scheme)
    try:
        socket.create_connection((parts.hostname, parts.port or default), timeout=3).close()
    except OSError as error:
        return f"{parts.scheme} at {parts.hostname}:{parts.port or default}: {error}"
    return None


def require(url: str, what: str) -> None:
    """A missing service fails the run in CI (CI=true) and skips the test elsewhere."""
    problem = unreachable(url)
    if problem is None:
        return
    reason = f"the scale-out tests need {what} ({problem}); set {what.split()[0].upper()}_URL"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI: {reason}", pytrace=False)
    pytest.skip(reason)


def wait_for_port(port: int, process: subprocess.Popen, name: str, log: "Path") -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"{name} exited with {process.returncode} on start:\n{read_log(log)}",
                pytrace=False,
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    process.kill()
    pytest.fail(f"{name} did not listen within {START_TIMEOUT} s:\n{read_log(log)}", pytrace=False)


def read_log(path: Path) -> str:
    return path.read_text(errors="replace")[-6000:] if path.exists() else ""


def stop_process(process: subprocess.Popen | None, kill: bool = False) -> None:
    if process is None or process.poll() is not None:
        return
    if kill:
        process.kill()
    else:
        process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@dataclass
class Simulator:
    """The gateway simulator in its own process, as a separately deployed gateway would be."""

    directory: Path
    chunk_delay: float
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "Simulator":
        log = self.directory / "simulator.log"
        self.process = subprocess.Popen(
            [
                sys.executable,
                *("-m", "chatapp.providers.simulator"),
                *("--port", str(self.port), "--chunk-delay", str(self.chunk_delay)),
            ],
            cwd=ROOT,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, self.process, "simulator", log)
        return self

    def stop(self) -> None:
        stop_process(self.process)


def server_environment(database_url: str, simulator: Simulator, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OPENAI_", "CHAT_", "SIMULATOR_"))
        and key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="chatapp.settings",
        DATABASE_URL=database_url,
        DEBUG="1",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        OPENAI_BASE_URL=simulator.base_url,
        OPENAI_API_KEY="sk-simulated-scale-out",
        OPENAI_MODELS="o4-mini,o3-mini,o1-mini",
        CHAT_PERSIST_SECONDS="0.2",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def create_user(env: dict[str, str], username: str) -> str:
    manage(
        {**env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD},
        "createsuperuser",
        "--noinput",
        "--username",
        username,
        "--email",
        f"{username}@example.com",
    )
    return username


@dataclass
class Server:
    """One daphne process serving chatapp on a loopback port."""

    name: str
    directory: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.directory / f"{self.name}.log"

    def start(self) -> "Server":
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"=== start #{self.starts} on port {self.port}\n".encode())
        log.flush()
        self.process = subprocess.Popen(
            [*SERVE, "-b", "127.0.0.1", "-p", str(self.port), APPLICATION],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for_port(self.port, self.process, f"server {self.name}", self.log_path)
        return self

    def stop(self, kill: bool = False) -> None:
        stop_process(self.process, kill=kill)
        self.process = None

    def log(self) -> str:
        return read_log(self.log_path)


class Visitor:
    """A logged-in browser's HTTP side: its session cookie, and pages fetched with it."""

    def __init__(self, server: Server, username: str):
        self.client = httpx.Client(base_url=server.url, timeout=20, trust_env=False)
        login = self.client.get("/accounts/login/")
        assert login.status_code == 200, login.text[:500]
        token = self.client.cookies["csrftoken"]
        answer = self.client.post(
            "/accounts/login/",
            data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        )
        assert answer.status_code == 302, f"login failed: {answer.status_code}"
        self.session = self.client.cookies["sessionid"]

    def new_conversation(self) -> str:
        """The public id of a new (empty) conversation."""
        answer = self.client.post(
            "/conversations/new/",
            data={"csrfmiddlewaretoken": self.client.cookies["csrftoken"]},
        )
        assert answer.status_code == 302, answer.status_code
        match = re.search(r"/c/([0-9a-f-]{36})/", answer.headers["location"])
        assert match, answer.headers["location"]
        return match.group(1)

    def page(self, public_id: str, server: Server | None = None) -> str:
        url = f"{server.url}/c/{public_id}/" if server else f"/c/{public_id}/"
        answer = self.client.get(url)
        assert answer.status_code == 200, answer.status_code
        return answer.text

    def close(self) -> None:
        self.client.close()


# Reading the fragments the server sends.

ARTICLE = re.compile(r'<article id="message-(?P<id>\d+)"(?P<attrs>[^>]*)>')
REASONING_DELTA = re.compile(
    r'<div hx-swap-oob="beforeend:#message-(?P<id>\d+)-reasoning">(?P<text>.*?)</div>', re.S
)
ANSWER_DELTA = re.compile(
    r'<div hx-swap-oob="beforeend:#message-(?P<id>\d+)-answer">(?P<text>.*?)</div>', re.S
)


def attribute(attrs: str, name: str) -> str | None:
    match = re.search(rf'{name}="([^"]*)"', attrs)
    return match.group(1) if match else None


@dataclass(frozen=True)
class Article:
    """An ``<article>`` for one message in a frame or a page."""

    message_id: int
    role: str
    status: str
    oob: str | None
    markup: str

    def part(self, suffix: str) -> str:
        """The raw inner HTML of ``#message-N-<suffix>`` (plain escaped text while streaming)."""
        match = re.search(
            rf'id="message-{self.message_id}-{suffix}">(.*?)</div>', self.markup, re.S
        )
        return match.group(1) if match else ""

    @property
    def reasoning(self) -> str:
        return html.unescape(self.part("reasoning"))

    @property
    def streamed_answer(self) -> str:
        """The answer of a streaming article: plain text, escaped."""
        return html.unescape(self.part("answer"))

    @property
    def answer_words(self) -> str:
        """The visible words of the answer, markup removed, whitespace collapsed."""
        start = self.markup.find(f'id="message-{self.message_id}-answer"')
        end = self.markup.find('<footer class="message-meta"', start)
        inner = self.markup[self.markup.find(">", start) + 1 : end]
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", inner)).split())


def articles(markup: str) -> list[Article]:
    """Every message article in ``markup``, each with its markup up to its ``</article>``."""
    found = []
    for match in ARTICLE.finditer(markup):
        end = markup.find("</article>", match.end())
        attrs = match.group("attrs")
        found.append(
            Article(
                message_id=int(match.group("id")),
                role=attribute(attrs, "data-role") or "",
                status=attribute(attrs, "data-status") or "",
                oob=attribute(attrs, "hx-swap-oob"),
                markup=markup[match.start() : end + len("</article>")],
            )
        )
    return found


def article(markup: str, message_id: int) -> Article | None:
    return next((a for a in articles(markup) if a.message_id == message_id), None)


def deltas(frame: str, message_id: int) -> tuple[str, str]:
    """The reasoning and answer text a frame appends to message ``message_id``, unescaped."""
    reasoning = "".join(
        html.unescape(m.group("text"))
        for m in REASONING_DELTA.finditer(frame)
        if int(m.group("id")) == message_id
    )
    answer = "".join(
        html.unescape(m.group("text"))
        for m in ANSWER_DELTA.finditer(frame)
        if int(m.group("id")) == message_id
    )
    return reasoning, answer


def new_assistant_message(frame: str) -> int | None:
    """The id of the streaming assistant message a new-turn frame adds, if it is one."""
    if 'hx-swap-oob="beforeend:#messages"' not in frame:
        return None
    for found in articles(frame):
        if found.role == "assistant" and found.status == "streaming":
            return found.message_id
    return None


def final_article(frame: str, message_id: int) -> Article | None:
    """The message swapped in whole once it is no longer streaming."""
    found = article(frame, message_id)
    if found is not None and found.oob and found.status != "streaming":
        return found
    return None


class Socket:
    """One tab's websocket on one server: every frame it received, in order."""

    def __init__(self, connection: ClientConnection):
        self.connection = connection
        self.frames: list[str] = []
        # When each frame arrived (time.monotonic()), for checks of liveness.
        self.times: list[float] = []
        self.arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, server: Server, public_id: str, session: str) -> "Socket":
        connection = await connect(
            f"ws://127.0.0.1:{server.port}/ws/conversations/{public_id}/",
            origin=server.url,
            additional_headers={"Cookie": f"sessionid={session}"},
            compression=None,
            proxy=None,
            open_timeout=10,
        )
        return cls(connection)

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for frame in self.connection:
                self.times.append(time.monotonic())
                self.frames.append(frame)
                self.arrived.set()

    async def send(self, **payload) -> None:
        await self.connection.send(json.dumps(payload))

    async def wait_for(self, predicate, timeout: float = 30.0, start: int = 0):
        """The first truthy ``predicate(frame)`` among frames from index ``start`` on."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        checked = start
        while True:
            while checked < len(self.frames):
                result = predicate(self.frames[checked])
                checked += 1
                if result:
                    return result
            left = deadline - loop.time()
            if left <= 0 or self._reader.done():
                raise AssertionError(
                    f"no matching frame within {timeout} s; last frames: {self.frames[-5:]}"
                )
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), left)

    @property
    def is_open(self) -> bool:
        return not self._reader.done()

    def streamed(self, message_id: int, start: int = 0) -> tuple[str, str]:
        """Reasoning and answer assembled from the deltas received from frame ``start`` on."""
        parts = [deltas(frame, message_id) for frame in self.frames[start:]]
        return "".join(r for r, _ in parts), "".join(a for _, a in parts)

    async def close(self) -> None:
        await self.connection.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


# Reading stored messages with a plain driver.

MESSAGE_COLUMNS = "status, content, reasoning, error, generation_channel"


def stored_message(database_url: str, message_id: int) -> dict:
    query = f"SELECT {MESSAGE_COLUMNS} FROM chat_message WHERE id = %s"  # noqa: S608
    if database_url.startswith("sqlite:"):
        path = database_url.removeprefix("sqlite:///")
        with contextlib.closing(sqlite3.connect(path, timeout=20)) as connection:
            row = connection.execute(query.replace("%s", "?"), (message_id,)).fetchone()
    else:
        import psycopg

        with psycopg.connect(database_url) as connection:
            row = connection.execute(query, (message_id,)).fetchone()
    assert row is not None, f"message {message_id} is not in the database"
    return dict(zip([c.strip() for c in MESSAGE_COLUMNS.split(",")], row, strict=True))
