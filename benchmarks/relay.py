"""Relay benchmark: N conversations stream at once through the app.

Not a test: it measures and prints, it asserts nothing. See benchmarks/README.md.

Per size N it starts, each in its own process:

- the gateway simulator (``SimulatorServer``, wrapped here so it records when
  it wrote each chunk and what the chunk said),
- one daphne process serving the app, as the Dockerfile starts it (PostgreSQL
  + in-memory channel layer by default; ``--redis`` for the Redis layer,
  ``--sqlite`` for a SQLite file; ``--processes K --redis`` for K of them,
  the clients spread over them),
- a driver process holding N websocket clients, one per conversation, each
  sending one message with a unique token (the simulator echoes it in the
  reasoning, which maps simulator requests to conversations).

Then the same driver reads N completions straight from the simulator as the
baseline. Times are ``time.monotonic()`` (CLOCK_MONOTONIC, one clock for every
process on the machine).

    .venv/bin/python benchmarks/relay.py                      # N = 50, 200, 500
    .venv/bin/python benchmarks/relay.py --sizes 50,200 --redis
    .venv/bin/python benchmarks/relay.py --processes 2 --redis
"""

import argparse
import asyncio
import base64
import contextlib
import difflib
import hashlib
import html
import json
import math
import multiprocessing
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import uvloop

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TOKEN = re.compile(r"bm-[0-9a-f]{6}-\d{4}")
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"

# Goals from issue 4, reported (not asserted) at N = 200.
GOAL_N = 200
GOAL_P99_MS = 50.0
GOAL_RATIO = 0.95
GOAL_WRITES_PER_SECOND = 1.0


# ---------------------------------------------------------------- the simulator


class _RecordingWriter:
    """Stands in for the simulator's stream writer: notes when each piece leaves, and what."""

    def __init__(self, writer, log: list):
        self._writer = writer
        self._log = log

    def write(self, data: bytes) -> None:
        # Noted before the write: a client in another process can receive it first.
        if data.startswith(b"data: {"):
            self._log.append((time.monotonic(), data))
        self._writer.write(data)

    async def drain(self) -> None:
        await self._writer.drain()

    def __getattr__(self, name):
        return getattr(self._writer, name)


def _recording_simulator_class():
    from chatapp.providers.simulator import SimulatorServer

    class RecordingSimulator(SimulatorServer):
        """The project's simulator, unchanged, except that every streamed chunk is logged."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.records: dict[str, list] = {}

        async def _stream(self, reader, writer, request, fault):
            text = json.dumps(request.get("messages") or [])
            match = TOKEN.search(text)
            log = self.records.setdefault(match.group(0) if match else "?", [])
            await super()._stream(reader, _RecordingWriter(writer, log), request, fault)

    return RecordingSimulator


def _decode_records(records: dict[str, list]) -> dict[str, list[tuple[float, str, str]]]:
    """Each request's chunks as (time written, "r" or "a", text)."""
    decoded = {}
    for token, log in records.items():
        chunks = []
        for when, data in log:
            chunk = json.loads(data[len(b"data: ") :])
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or {}
                if delta.get("reasoning_content"):
                    chunks.append((when, "r", delta["reasoning_content"]))
                if delta.get("content"):
                    chunks.append((when, "a", delta["content"]))
        decoded[token] = chunks
    return decoded


def simulator_process(port: int, chunk_delay: float, control) -> None:
    """Serve the simulator; answer "dump" (records so far, then forget them) and "stop"."""
    server = _recording_simulator_class()(port=port, chunk_delay=chunk_delay)
    ready = threading.Event()
    loop = uvloop.new_event_loop()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    threading.Thread(target=serve, daemon=True).start()
    ready.wait(10)
    control.send("ready")
    while True:
        command = control.recv()
        if command == "dump":
            records = asyncio.run_coroutine_threadsafe(_take(server), loop).result()
            control.send(_decode_records(records))
        elif command == "stop":
            return


async def _take(server) -> dict:
    records, server.records = server.records, {}
    return records


# ---------------------------------------------------------------- the clients

ARTICLE = re.compile(r'<article id="message-(\d+)"([^>]*)>')
REASONING_DELTA = re.compile(
    r'<div hx-swap-oob="beforeend:#message-\d+-reasoning">(.*?)</div>', re.S
)
ANSWER_DELTA = re.compile(r'<div hx-swap-oob="beforeend:#message-\d+-answer">(.*?)</div>', re.S)


@dataclass
class Received:
    """What one client saw of its conversation's answer."""

    token: str
    sent_at: float = 0.0
    finished_at: float | None = None
    status: str = ""
    frames: int = 0
    # (time received, "r" or "a", characters of that kind received so far)
    marks: list = field(default_factory=list)
    reasoning: str = ""
    answer: str = ""
    closed_early: str = ""


def _read_frames(result: Received, frames: list[tuple[float, str]]) -> None:
    """Assemble a conversation's deltas; note when each character count was reached."""
    reasoning: list[str] = []
    answer: list[str] = []
    r_len = a_len = 0
    for when, frame in frames:
        result.frames += 1
        for text in REASONING_DELTA.findall(frame):
            piece = html.unescape(text)
            reasoning.append(piece)
            r_len += len(piece)
            result.marks.append((when, "r", r_len))
        for text in ANSWER_DELTA.findall(frame):
            piece = html.unescape(text)
            answer.append(piece)
            a_len += len(piece)
            result.marks.append((when, "a", a_len))
        for _, attrs in ARTICLE.findall(frame):
            if "hx-swap-oob=" in attrs and 'data-role="assistant"' in attrs:
                status = re.search(r'data-status="(\w+)"', attrs).group(1)
                if status != "streaming":
                    result.status, result.finished_at = status, when
    result.reasoning, result.answer = "".join(reasoning), "".join(answer)


class _StampedReader(asyncio.Protocol):
    """A client connection that notes when each piece arrived, as it arrives.

    Stamped in ``data_received``, not when a reading task next runs: the
    clients share the machine with the app, and the turns of their own loop
    would count as the app's latency. And lean: a websocket library's frame
    parsing, queues and task switches cost the clients about a fifth of a
    CPU at N = 200, taken from the app on this two-core machine.
    """

    def __init__(self):
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.headers: asyncio.Future = asyncio.get_running_loop().create_future()
        self.finished: asyncio.Future = asyncio.get_running_loop().create_future()
        self._in_body = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        when = time.monotonic()
        self.buffer += data
        if not self._in_body:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            del self.buffer[: end + 4]
            self._in_body = True
            self.headers.set_result(head)
        try:
            self.read_body(when)
        except Exception as error:  # a malformed frame ends this client, counted
            self._finish(error)

    def connection_lost(self, exc) -> None:
        self._finish(exc or ConnectionError("closed before the answer was complete"))
        if not self.headers.done():
            self.headers.set_exception(ConnectionError("closed during the handshake"))

    def _finish(self, error: BaseException | None = None) -> None:
        if self.finished.done():
            return
        if error is None:
            self.finished.set_result(None)
        else:
            self.finished.set_exception(error)

    def read_body(self, when: float) -> None:
        raise NotImplementedError


class _WebsocketReader(_StampedReader):
    """Reads a websocket's text messages (RFC 6455; the server sends them unmasked)."""

    def __init__(self):
        super().__init__()
        self.messages: list[tuple[float, str]] = []
        self._fragments: list[bytes] = []

    def read_body(self, when: float) -> None:
        buffer = self.buffer
        while len(buffer) >= 2:
            first, second = buffer[0], buffer[1]
            if second & 0x80:
                raise ConnectionError("a server frame was masked")
            length, start = second & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length, start = int.from_bytes(buffer[2:4]), 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length, start = int.from_bytes(buffer[2:10]), 10
            if len(buffer) < start + length:
                return
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            opcode = first & 0x0F
            if opcode == 0x9:  # ping
                self.send(payload, opcode=0xA)
            elif opcode == 0x8:
                raise ConnectionError("the server closed the socket")
            elif opcode in (0x0, 0x1):
                self._fragments.append(payload)
                if first & 0x80:  # the message's last frame
                    text = b"".join(self._fragments).decode()
                    self._fragments.clear()
                    self.messages.append((when, text))
                    if FINAL.search(text):
                        self._finish()

    def send(self, payload: bytes, opcode: int = 0x1) -> None:
        """One frame, masked as a client's must be."""
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = bytes([0x80 | opcode, 0x80 | length])
        elif length < 1 << 16:
            header = bytes([0x80 | opcode, 0x80 | 126]) + length.to_bytes(2)
        else:
            header = bytes([0x80 | opcode, 0x80 | 127]) + length.to_bytes(8)
        masked = bytes(byte ^ mask[i & 3] for i, byte in enumerate(payload))
        self.transport.write(header + mask + masked)

    def close(self) -> None:
        if not self.transport.is_closing():
            self.send((1000).to_bytes(2), opcode=0x8)
            self.transport.close()


async def _websocket(port: int, path: str, cookie: str) -> _WebsocketReader:
    """Open a websocket as a browser tab of this site would (Origin, session cookie)."""
    loop = asyncio.get_running_loop()
    _, reader = await loop.create_connection(_WebsocketReader, "127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    reader.transport.write(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: http://127.0.0.1:{port}\r\nCookie: {cookie}\r\n\r\n"
        ).encode()
    )
    head = (await reader.headers).decode("latin-1")
    accept = base64.b64encode(
        # RFC 6455's handshake check: SHA-1 by definition, not for security.
        hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode(), usedforsecurity=False
        ).digest()
    ).decode()
    if not head.startswith("HTTP/1.1 101") or accept not in head:
        reader.finished.cancel()  # nothing will wait for it
        reader.transport.close()
        raise ConnectionError(f"handshake refused: {head.splitlines()[0]}")
    return reader


class _EventStreamReader(_StampedReader):
    """Reads an SSE response's ``data:`` lines."""

    def __init__(self):
        super().__init__()
        self.lines: list[tuple[float, bytes]] = []

    def read_body(self, when: float) -> None:
        while (end := self.buffer.find(b"\n")) >= 0:
            line = bytes(self.buffer[:end])
            del self.buffer[: end + 1]
            if line.startswith(b"data: "):
                self.lines.append((when, line))
                if line.startswith(b"data: [DONE]"):
                    self._finish()


async def _app_client(port, public_id, session, token, effort, offset, race, ready):
    """One browser tab: connect, wait for the start, send, read until the answer is final."""
    result = Received(token)
    socket = None
    try:
        async with race.handshakes:
            socket = await asyncio.wait_for(
                _websocket(port, f"/ws/conversations/{public_id}/", f"sessionid={session}"), 120
            )
        ready.append(public_id)
        await race.started.wait()
        await asyncio.sleep(max(0.0, race.at + offset - time.monotonic()))
        result.sent_at = time.monotonic()
        message = {
            "action": "send",
            "message": f"Benchmark {token} relay",
            "model": "o4-mini",
            "reasoning_effort": effort,
        }
        socket.send(json.dumps(message).encode())
        try:
            await asyncio.wait_for(socket.finished, race.deadline - time.monotonic())
        except TimeoutError:
            result.closed_early = "timeout"
    except Exception as error:  # every failure is counted; none stops the run
        result.closed_early = result.closed_early or type(error).__name__
    finally:
        if socket is not None:
            socket.close()
    _read_frames(result, socket.messages if socket is not None else [])
    return result


FINAL = re.compile(
    r'data-role="assistant" data-status="(?!streaming)[a-z]+"[^>]*hx-swap-oob="true"'
)


async def _direct_client(port, token, effort, start_at):
    """The same request straight to the simulator: read its SSE stream, note each chunk."""
    result = Received(token)
    body = json.dumps(
        {
            "model": "o4-mini",
            "messages": [{"role": "user", "content": f"Benchmark {token} relay"}],
            "reasoning_effort": effort,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    ).encode()
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    result.sent_at = time.monotonic()
    loop = asyncio.get_running_loop()
    transport, stream = await loop.create_connection(_EventStreamReader, "127.0.0.1", port)
    transport.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nAccept: text/event-stream\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    with contextlib.suppress(ConnectionError):
        await stream.finished
    transport.close()
    reasoning: list[str] = []
    answer: list[str] = []
    r_len = a_len = 0
    for when, line in stream.lines:
        result.frames += 1
        if line.startswith(b"data: [DONE]"):
            result.status, result.finished_at = "complete", when
            break
        for choice in json.loads(line[6:]).get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("reasoning_content"):
                reasoning.append(delta["reasoning_content"])
                r_len += len(delta["reasoning_content"])
                result.marks.append((when, "r", r_len))
            if delta.get("content"):
                answer.append(delta["content"])
                a_len += len(delta["content"])
                result.marks.append((when, "a", a_len))
    result.reasoning, result.answer = "".join(reasoning), "".join(answer)
    return result


def driver_process(control) -> None:
    """Runs the clients when told: ("app", ...) or ("direct", ...); sends back what they saw."""
    while True:
        command = control.recv()
        if command[0] == "stop":
            return
        if command[0] == "app":
            _, ports, conversations, effort, ramp, timeout = command
            control.send(
                uvloop.run(_drive_app(control, ports, conversations, effort, ramp, timeout))
            )
        elif command[0] == "direct":
            _, port, tokens, effort, ramp = command
            control.send(uvloop.run(_drive_direct(port, tokens, effort, ramp)))


CONCURRENT_HANDSHAKES = 8


class Race:
    """When the clients start sending, and by when they must be done."""

    def __init__(self):
        # Browsers open their sockets over time, not all in the same millisecond.
        self.handshakes = asyncio.Semaphore(CONCURRENT_HANDSHAKES)
        self.started = asyncio.Event()
        self.at = 0.0
        self.deadline = float("inf")


async def _drive_app(control, ports, conversations, effort, ramp, timeout):
    ready: list[str] = []
    race = Race()
    count = len(conversations)
    tasks = []
    for number, (public_id, session, token) in enumerate(conversations):
        # Spread over the app processes as a load balancer would.
        port = ports[number % len(ports)]
        client = _app_client(
            port, public_id, session, token, effort, ramp * number / count, race, ready
        )
        tasks.append(asyncio.create_task(client))
    began = time.monotonic()
    while len(ready) + sum(t.done() for t in tasks) < count:
        await asyncio.sleep(0.05)
    # Connected: the parent reads the server's memory now, then says go.
    control.send(("connected", len(ready), time.monotonic() - began))
    await asyncio.to_thread(control.recv)
    race.at = time.monotonic() + 0.2
    race.deadline = race.at + ramp + timeout
    race.started.set()
    results = await asyncio.gather(*tasks)
    return race.at, results


async def _drive_direct(port, tokens, effort, ramp):
    start = time.monotonic() + 0.2
    count = len(tokens)
    results = await asyncio.gather(
        *(
            _direct_client(port, token, effort, start + ramp * number / count)
            for number, token in enumerate(tokens)
        )
    )
    return start, results


# ---------------------------------------------------------------- processes and databases


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its threads (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_ticks() -> tuple[int, int]:
    """Stolen and total CPU ticks of the whole machine so far (/proc/stat).

    Steal is time the hypervisor gave this machine's CPUs to other guests. On
    a crowded host it slows every process here alike, and the figures only
    compare between runs with similar steal.
    """
    # user nice system idle iowait irq softirq steal (guest time is inside user)
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return ticks[7], sum(ticks)


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident set) of a process, in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


def unreachable(url: str) -> str | None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=3).close()
    except OSError as error:
        return f"{url}: {error}"
    return None


class Database:
    """A migrated template; a fresh copy per size; row-write counters; the stored answers."""

    def __init__(self, kind: str, base_url: str, workdir: Path, env: dict[str, str]):
        self.kind = kind
        self.base_url = base_url
        self.workdir = workdir
        self.created: list[str] = []
        self.suffix = uuid.uuid4().hex[:8]
        self.template = self._new_url("tpl")
        if kind == "postgres":
            self._execute(f'CREATE DATABASE "{self._name(self.template)}"')
        manage({**env, "DATABASE_URL": self.template}, "migrate", "--noinput")

    def _new_url(self, label: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.workdir / f'{label}.sqlite3'}"
        prefix = self.base_url.rsplit("/", 1)[0]
        name = f"chatapp_bench_{self.suffix}_{label}"
        self.created.append(name)
        return f"{prefix}/{name}"

    @staticmethod
    def _name(url: str) -> str:
        return url.rsplit("/", 1)[1]

    def _execute(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.base_url, autocommit=True) as connection:
            connection.execute(statement)

    def copy(self, label: str) -> str:
        url = self._new_url(label)
        if self.kind == "sqlite":
            shutil.copyfile(
                self.template.removeprefix("sqlite:///"), url.removeprefix("sqlite:///")
            )
        else:
            self._execute(
                f'CREATE DATABASE "{self._name(url)}" TEMPLATE "{self._name(self.template)}"'
            )
        return url

    def counters(self, url: str) -> dict[str, int] | None:
        """PostgreSQL's own counts for the database: rows written per table, sessions, commits.

        Each reading opens one session and commits one transaction itself.
        """
        if self.kind != "postgres":
            return None
        import psycopg

        with psycopg.connect(url) as connection:
            rows = connection.execute(
                "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del, n_tup_upd "
                "FROM pg_stat_user_tables"
            ).fetchall()
            sessions, commits = connection.execute(
                "SELECT sessions, xact_commit FROM pg_stat_database "
                "WHERE datname = current_database()"
            ).fetchone()
        counts = {f"rows:{name}": written for name, written, _ in rows}
        counts.update({f"updates:{name}": updated for name, _, updated in rows})
        counts.update(sessions=sessions, commits=commits)
        return counts

    def stored_answers(self, url: str) -> dict[str, tuple[str, str, str]]:
        """(status, reasoning, content) of each conversation's answer, by public id."""
        query = (
            "SELECT c.public_id, m.status, m.reasoning, m.content FROM chat_message m "
            "JOIN chat_conversation c ON c.id = m.conversation_id WHERE m.role = 'assistant'"
        )
        if self.kind == "sqlite":
            import sqlite3

            with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as db:
                rows = db.execute(query).fetchall()
        else:
            import psycopg

            with psycopg.connect(url) as connection:
                rows = connection.execute(query).fetchall()
        return {str(uuid.UUID(str(row[0]))): tuple(row[1:]) for row in rows}

    def drop(self, url: str) -> None:
        if self.kind == "postgres":
            self._execute(f'DROP DATABASE IF EXISTS "{self._name(url)}" WITH (FORCE)')

    def close(self) -> None:
        if self.kind == "postgres":
            for name in self.created:
                self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


SETUP = """
import json, os
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from chatapp.chat.models import Conversation

count, effort = int(os.environ["BENCH_N"]), os.environ["BENCH_EFFORT"]
label = os.environ["BENCH_LABEL"]
User = get_user_model()
users = User.objects.bulk_create(
    [User(username=f"bench-{label}-{n}", password="!unusable") for n in range(count)]
)
users = list(User.objects.filter(username__startswith=f"bench-{label}-").order_by("pk"))
conversations = Conversation.objects.bulk_create(
    [Conversation(owner=user, model="o4-mini", reasoning_effort=effort) for user in users]
)
out = []
for user, conversation in zip(users, conversations):
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    out.append([str(conversation.public_id), session.session_key])
print("BENCH " + json.dumps(out))
"""


def create_conversations(env: dict[str, str], count: int, effort: str, label: str) -> list:
    """N members, each with one empty conversation and a logged-in session."""
    output = manage(
        {**env, "BENCH_N": str(count), "BENCH_EFFORT": effort, "BENCH_LABEL": label},
        "shell",
        "-c",
        SETUP,
    )
    line = next(line for line in output.splitlines() if line.startswith("BENCH "))
    return json.loads(line[len("BENCH ") :])


class AppServer:
    def __init__(self, env: dict[str, str], log: Path):
        self.port = free_port()
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    *(str(BIN / "python"), "-m", "chatapp.serve"),  # as in the Dockerfile
                    *("-b", "127.0.0.1", "-p", str(self.port)),
                    "chatapp.asgi:application",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"the app server exited on start; see {log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    probe.recv(100)
                return
            except OSError:
                time.sleep(0.1)
        sys.exit(f"the app server did not start; see {log}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def servers_described(count: int) -> str:
    processes = "one daphne process" if count == 1 else f"{count} daphne processes"
    return f"{processes} on uvloop"


def server_environment(database_url: str, simulator_url: str, redis_url: str) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OPENAI_", "CHAT_", "SIMULATOR_", "SECURE_"))
        and key not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "ALLOWED_HOSTS", "SECRET_KEY"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="chatapp.settings",
        DATABASE_URL=database_url,
        DEBUG="0",
        SECRET_KEY="benchmark-" + uuid.uuid4().hex * 2,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        SECURE_COOKIES="0",
        SECURE_HSTS_SECONDS="0",
        OPENAI_BASE_URL=simulator_url,
        OPENAI_API_KEY="sk-benchmark",
        OPENAI_MODELS="o4-mini",
        CHAT_SENDS_PER_MINUTE="1000000",
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def pick_redis_database(base: str) -> str:
    """An empty Redis database number (15 down to 1) on the server of ``base``."""
    import redis

    prefix = base.rstrip("/").rsplit("/", 1)[0] if base.count("/") > 2 else base.rstrip("/")
    for number in range(15, 0, -1):
        client = redis.Redis.from_url(f"{prefix}/{number}")
        try:
            if client.dbsize() == 0:
                return f"{prefix}/{number}"
        finally:
            client.close()
    sys.exit("no empty Redis database number (1-15) for the benchmark")


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


# ---------------------------------------------------------------- measuring


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def latencies(
    sent: list[tuple[float, str, str]], received: Received
) -> tuple[list[tuple[float, float]], int]:
    """Per simulator chunk: when it was written, and seconds from then to when its last
    character arrived.

    Returns those pairs and how many chunks never (fully) arrived.
    """
    result = []
    missing = 0
    for kind in ("r", "a"):
        marks = [(when, length) for when, k, length in received.marks if k == kind]
        position = 0
        end = 0
        for when, k, text in sent:
            if k != kind:
                continue
            end += len(text)
            while position < len(marks) and marks[position][1] < end:
                position += 1
            if position == len(marks):
                missing += 1
                continue
            result.append((when, marks[position][0] - when))
    return result, missing


PHASES = ("while sends arrive", "while every answer streams", "while answers finish")


def latency_by_phase(timed: list[tuple[float, float]], results: list) -> dict:
    """p50 and p99 (ms) of the chunks written in each phase of the run.

    Until the last send; from then until the first answer finished; from then on.
    Starting and finishing answers cost far more than relaying a chunk, so
    this says which of them holds the deltas up.
    """
    last_send = max(r.sent_at for r in results)
    first_finish = min((r.finished_at for r in results if r.finished_at), default=math.inf)
    phases = {name: [] for name in PHASES}
    for when, latency in timed:
        if when <= last_send:
            phase = PHASES[0]
        elif when < first_finish:
            phase = PHASES[1]
        else:
            phase = PHASES[2]
        phases[phase].append(latency)
    return {
        name: (percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000, len(values))
        for name, values in phases.items()
    }


WINDOW_SECONDS = 0.1


def slowest_windows(timed: list[tuple[float, float]], start: float, count: int = 3) -> list:
    """The ``count`` 100 ms windows (by when the simulator wrote the chunk) with the most
    chunks over the p99 goal: (seconds after the first send, chunks over, chunks, p50 ms).

    A p99 comes from a few long stalls or from a backlog the app carries for
    a while; which of them, and when in the run, is what to look into.
    """
    windows: dict[int, list[float]] = {}
    for when, latency in timed:
        windows.setdefault(int((when - start) / WINDOW_SECONDS), []).append(latency)
    ranked = sorted(
        (
            (
                index * WINDOW_SECONDS,
                sum(latency * 1000 > GOAL_P99_MS for latency in values),
                len(values),
                percentile(values, 0.5) * 1000,
            )
            for index, values in windows.items()
        ),
        key=lambda window: -window[1],
    )
    return [window for window in ranked[:count] if window[1]]


def differences(expected: str, actual: str, finished: bool = True) -> tuple[int, int]:
    """Characters lost (expected, not delivered) and extra (delivered twice or invented).

    An answer that never finished (the run's timeout) is compared with as much
    of the expected text as it had reached: it must be an exact prefix.
    """
    if not finished:
        expected = expected[: len(actual)]
    if expected == actual:
        return 0, 0
    lost = extra = 0
    matcher = difflib.SequenceMatcher(None, expected, actual, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            lost += i2 - i1
        if tag in ("insert", "replace"):
            extra += j2 - j1
    return lost, extra


@dataclass
class Row:
    n: int
    completed: int = 0
    connect_seconds: float = float("nan")
    closed_early: int = 0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    direct_p50_ms: float = float("nan")
    direct_p99_ms: float = float("nan")
    first_delta_p50_ms: float = float("nan")
    phases: dict = field(default_factory=dict)
    slow_windows: list = field(default_factory=list)
    frames_per_message: float = float("nan")
    writes_per_message: float | None = None
    writes_per_second_per_stream: float | None = None
    streaming_writes_per_second: float | None = None
    connections_per_message: float | None = None
    commits_per_message: float | None = None
    stream_seconds: float = float("nan")
    cpu_per_1000_chunks: float = float("nan")
    cpu_share: float = float("nan")
    simulator_cpu_share: float = float("nan")
    driver_cpu_share: float = float("nan")
    steal_share: float = float("nan")
    idle_rss_mb: float = float("nan")
    peak_rss_mb: float = float("nan")
    rss_per_stream_kb: float = float("nan")
    app_chunks_per_second: float = float("nan")
    direct_chunks_per_second: float = float("nan")
    ratio: float = float("nan")
    lost: int = 0
    extra: int = 0
    stored_lost: int = 0
    stored_extra: int = 0
    stored_not_complete: int = 0
    missing_chunks: int = 0
    write_tables: dict = field(default_factory=dict)
    failures: dict = field(default_factory=dict)


def summarise_stream(go_at, results, records) -> dict:
    all_latencies: list[tuple[float, float]] = []
    missing = lost = extra = chunks = 0
    last = go_at
    for received in results:
        sent = records.get(received.token, [])
        chunks += len(sent)
        found, gone = latencies(sent, received)
        all_latencies += found
        missing += gone
        for kind, actual in (("r", received.reasoning), ("a", received.answer)):
            expected = "".join(text for _, k, text in sent if k == kind)
            one_lost, one_extra = differences(expected, actual, received.status == "complete")
            lost += one_lost
            extra += one_extra
        if received.finished_at:
            last = max(last, received.finished_at)
    return {
        "latencies": [latency for _, latency in all_latencies],
        "timed_latencies": all_latencies,
        "missing": missing,
        "lost": lost,
        "extra": extra,
        "chunks": chunks,
        "seconds": last - go_at,
    }


def run_size(n: int, args, simulator, driver, database: Database, redis_url: str, workdir: Path):
    row = Row(n)
    label = f"n{n}"
    url = database.copy(label)
    if redis_url:
        flush_redis(redis_url)
    env = server_environment(url, simulator["url"], redis_url)
    conversations = create_conversations(env, n, args.effort, label)
    servers = [
        AppServer(env, workdir / f"server-{label}-{number}.log") for number in range(args.processes)
    ]
    pids = [server.pid for server in servers]
    tokens = [f"bm-{uuid.uuid4().hex[:6]}-{number:04d}" for number in range(n)]
    try:
        row.idle_rss_mb = sum(memory_kib(pid)["VmRSS"] for pid in pids) / 1024
        driver["pipe"].send(
            (
                "app",
                [server.port for server in servers],
                [(p, s, t) for (p, s), t in zip(conversations, tokens, strict=True)],
                args.effort,
                args.ramp,
                args.timeout,
            )
        )
        if not driver["pipe"].poll(600):
            raise RuntimeError("the clients did not connect within 10 minutes")
        _, _, row.connect_seconds = driver["pipe"].recv()
        rss_connected = sum(memory_kib(pid)["VmRSS"] for pid in pids)
        counts_before = database.counters(url)
        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        sim_before = cpu_seconds(simulator["pid"])
        driver_before = cpu_seconds(driver["pid"])
        stolen_before, ticks_before = machine_ticks()
        wall_before = time.monotonic()
        profiler = start_profiler(args, pids[0], label, workdir)
        driver["pipe"].send("go")
        if not driver["pipe"].poll(args.ramp + args.timeout + 120):
            raise RuntimeError("the clients did not report back")
        go_at, results = driver["pipe"].recv()
        wall = time.monotonic() - wall_before
        cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
        row.simulator_cpu_share = (cpu_seconds(simulator["pid"]) - sim_before) / wall
        row.driver_cpu_share = (cpu_seconds(driver["pid"]) - driver_before) / wall
        stolen_after, ticks_after = machine_ticks()
        row.steal_share = (stolen_after - stolen_before) / max(ticks_after - ticks_before, 1)
        stop_profiler(profiler)
        peak_rss = sum(memory_kib(pid)["VmHWM"] for pid in pids)
    finally:
        for server in servers:
            server.stop()
    simulator["pipe"].send("dump")
    records = simulator["pipe"].recv()
    counts_after = database.counters(url)
    stored = database.stored_answers(url)

    summary = summarise_stream(go_at, results, records)
    row.completed = sum(1 for r in results if r.status == "complete")
    row.closed_early = sum(1 for r in results if r.closed_early)
    row.failures = dict(Counter(r.closed_early for r in results if r.closed_early))
    row.p50_ms = percentile(summary["latencies"], 0.50) * 1000
    row.p99_ms = percentile(summary["latencies"], 0.99) * 1000
    row.phases = latency_by_phase(summary["timed_latencies"], results)
    row.slow_windows = slowest_windows(summary["timed_latencies"], go_at)
    row.missing_chunks = summary["missing"]
    row.lost, row.extra = summary["lost"], summary["extra"]
    firsts = [r.marks[0][0] - r.sent_at for r in results if r.marks]
    row.first_delta_p50_ms = percentile(firsts, 0.5) * 1000
    row.frames_per_message = statistics.mean(r.frames for r in results)
    durations = [r.finished_at - r.sent_at for r in results if r.finished_at]
    row.stream_seconds = statistics.mean(durations) if durations else float("nan")
    row.cpu_per_1000_chunks = cpu / max(summary["chunks"], 1) * 1000
    row.cpu_share = cpu / wall
    row.peak_rss_mb = peak_rss / 1024
    row.rss_per_stream_kb = (peak_rss - rss_connected) / n
    row.app_chunks_per_second = (summary["chunks"] - summary["missing"]) / summary["seconds"]
    if counts_before is not None and counts_after is not None:
        delta = {k: counts_after[k] - counts_before.get(k, 0) for k in counts_after}
        rows_written = {k[5:]: c for k, c in delta.items() if k.startswith("rows:") and c}
        row.write_tables = rows_written
        row.writes_per_message = sum(rows_written.values()) / n
        row.writes_per_second_per_stream = row.writes_per_message / row.stream_seconds
        # Saves while streaming: the answer's updates less the final save every
        # answer has (it is inserted with its channel, so none at the start).
        streaming = delta.get("updates:chat_message", 0) / n - 1
        row.streaming_writes_per_second = max(streaming, 0) / row.stream_seconds
        row.connections_per_message = (delta["sessions"] - 1) / n
        row.commits_per_message = (delta["commits"] - 1) / n
    for (public_id, _), token in zip(conversations, tokens, strict=True):
        sent = records.get(token, [])
        status, reasoning, content = stored.get(public_id, ("", "", ""))
        row.stored_not_complete += status != "complete"
        for kind, actual in (("r", reasoning), ("a", content)):
            expected = "".join(text for _, k, text in sent if k == kind)
            one_lost, one_extra = differences(expected, actual, status == "complete")
            row.stored_lost += one_lost
            row.stored_extra += one_extra

    # The baseline: the same clients, the same requests, straight to the simulator.
    direct_tokens = [f"bm-{uuid.uuid4().hex[:6]}-{number:04d}" for number in range(n)]
    driver["pipe"].send(("direct", simulator["port"], direct_tokens, args.effort, args.ramp))
    direct_go, direct_results = driver["pipe"].recv()
    simulator["pipe"].send("dump")
    direct = summarise_stream(direct_go, direct_results, simulator["pipe"].recv())
    row.direct_p50_ms = percentile(direct["latencies"], 0.50) * 1000
    row.direct_p99_ms = percentile(direct["latencies"], 0.99) * 1000
    row.direct_chunks_per_second = (direct["chunks"] - direct["missing"]) / direct["seconds"]
    row.ratio = row.app_chunks_per_second / row.direct_chunks_per_second
    database.drop(url)
    return row


def start_profiler(args, pid: int, label: str, workdir: Path):
    if not args.profile:
        return None
    py_spy = os.environ.get("PY_SPY") or shutil.which("py-spy") or str(BIN / "py-spy")
    output = Path(args.profile).with_suffix(f".{label}.txt")
    return subprocess.Popen(
        [
            *(py_spy, "record", "--pid", str(pid), "--format", "raw", "--output", str(output)),
            *("--rate", "200", "--nonblocking"),
        ],
        stdout=(workdir / f"py-spy-{label}.log").open("w"),
        stderr=subprocess.STDOUT,
    )


def stop_profiler(profiler) -> None:
    if profiler is not None:
        profiler.send_signal(2)  # SIGINT: py-spy writes its file and exits
        with contextlib.suppress(subprocess.TimeoutExpired):
            profiler.wait(timeout=30)


# ---------------------------------------------------------------- reporting


def fmt(value, spec: str = ".1f") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and value != value:
        return "-"
    return format(value, spec)


def print_table(rows: list[Row], setup: str) -> None:
    print(f"\nSetup: {setup}\n")
    header = (
        f"{'N':>5} {'connect s':>9} {'done':>9} {'p50 ms':>7} {'p99 ms':>7} {'direct p50/p99':>15} "
        f"{'1st delta':>9} {'frames/msg':>10} {'lost':>5} {'dup':>5} {'DB lost/dup':>11}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.n:>5} {fmt(r.connect_seconds):>9} {f'{r.completed}/{r.n}':>9} "
            f"{fmt(r.p50_ms):>7} {fmt(r.p99_ms):>7} "
            f"{fmt(r.direct_p50_ms) + ' / ' + fmt(r.direct_p99_ms):>15} "
            f"{fmt(r.first_delta_p50_ms, '.0f') + ' ms':>9} {fmt(r.frames_per_message):>10} "
            f"{r.lost:>5} {r.extra:>5} {f'{r.stored_lost}/{r.stored_extra}':>11}"
        )
    print()
    header = (
        f"{'N':>5} {'stream s':>8} {'rows written/msg':>16} {'writes/s/stream':>15} "
        f"{'saves/s while streaming':>23} {'DB connections/msg':>18} {'commits/msg':>11}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.n:>5} {fmt(r.stream_seconds, '.2f'):>8} {fmt(r.writes_per_message):>16} "
            f"{fmt(r.writes_per_second_per_stream, '.2f'):>15} "
            f"{fmt(r.streaming_writes_per_second, '.2f'):>23} "
            f"{fmt(r.connections_per_message):>18} {fmt(r.commits_per_message):>11}"
        )
    print()
    header = (
        f"{'N':>5} {'CPU s/1k chunks':>15} {'app CPU':>8} {'sim CPU':>8} {'clients CPU':>11} "
        f"{'steal':>6} "
        f"{'idle RSS':>9} {'peak RSS':>9} {'RSS/stream':>10} {'app chunk/s':>11} "
        f"{'direct chunk/s':>14} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.n:>5} {fmt(r.cpu_per_1000_chunks, '.3f'):>15} "
            f"{fmt(r.cpu_share * 100, '.0f') + '%':>8} "
            f"{fmt(r.simulator_cpu_share * 100, '.0f') + '%':>8} "
            f"{fmt(r.driver_cpu_share * 100, '.0f') + '%':>11} "
            f"{fmt(r.steal_share * 100, '.0f') + '%':>6} "
            f"{fmt(r.idle_rss_mb) + ' MB':>9} {fmt(r.peak_rss_mb) + ' MB':>9} "
            f"{fmt(r.rss_per_stream_kb, '.0f') + ' KB':>10} "
            f"{fmt(r.app_chunks_per_second, '.0f'):>11} "
            f"{fmt(r.direct_chunks_per_second, '.0f'):>14} {fmt(r.ratio, '.3f'):>6}"
        )
    for r in rows:
        if r.closed_early or r.missing_chunks:
            print(
                f"N={r.n}: {r.closed_early} sockets failed ({r.failures}), "
                f"{r.missing_chunks} chunks never arrived"
            )
        if r.stored_not_complete:
            print(
                f"N={r.n}: {r.stored_not_complete} stored answers are not 'complete' (stopped "
                "by the timeout); lost/dup compare unfinished answers as prefixes"
            )
        if r.write_tables:
            tables = ", ".join(f"{t} {c}" for t, c in sorted(r.write_tables.items()))
            print(f"N={r.n}: rows written by table: {tables}")
        if r.phases:
            phases = "; ".join(
                f"{name} {fmt(p50)} / {fmt(p99)} ({count:,} chunks)"
                for name, (p50, p99, count) in r.phases.items()
            )
            print(f"N={r.n}: added latency p50 / p99 ms {phases}")
        if r.slow_windows:
            windows = "; ".join(
                f"at {at:.1f} s {over} of {chunks} (p50 {p50:.0f} ms)"
                for at, over, chunks, p50 in r.slow_windows
            )
            print(f"N={r.n}: most chunks over {GOAL_P99_MS:.0f} ms, by 100 ms window: {windows}")
    goal = next((r for r in rows if r.n == GOAL_N), None)
    if goal is None:
        return
    print(f"\nGoals at N={GOAL_N} (reported, not asserted):")
    checks = [
        (f"p99 added latency < {GOAL_P99_MS:.0f} ms", goal.p99_ms < GOAL_P99_MS, fmt(goal.p99_ms)),
        (f"throughput ratio >= {GOAL_RATIO}", goal.ratio >= GOAL_RATIO, fmt(goal.ratio, ".3f")),
        (
            f"<= {GOAL_WRITES_PER_SECOND:.0f} DB write per second per stream while streaming",
            goal.streaming_writes_per_second is not None
            and goal.streaming_writes_per_second <= GOAL_WRITES_PER_SECOND,
            f"{fmt(goal.streaming_writes_per_second, '.2f')} saves/s "
            f"({fmt(goal.writes_per_second_per_stream, '.2f')}/s counting every row the "
            f"message writes over its {fmt(goal.stream_seconds, '.1f')} s)",
        ),
        (
            "zero lost or duplicated characters (streamed and stored)",
            goal.completed == goal.n
            and not (goal.lost or goal.extra or goal.stored_lost or goal.stored_extra),
            f"{goal.lost}/{goal.extra} streamed, {goal.stored_lost}/{goal.stored_extra} stored",
        ),
    ]
    for name, met, value in checks:
        print(f"  {'met   ' if met else 'MISSED'}  {name}: {value}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="50,200,500", help="comma-separated N (default 50,200,500)"
    )
    parser.add_argument(
        "--chunk-delay", type=float, default=0.03, help="simulator seconds per chunk"
    )
    parser.add_argument("--effort", default="medium", choices=["low", "medium", "high"])
    parser.add_argument("--ramp", type=float, default=2.0, help="spread the N sends over seconds")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for answers")
    parser.add_argument(
        "--redis",
        nargs="?",
        const=os.environ.get("REDIS_URL") or DEFAULT_REDIS,
        help="use the Redis channel layer (default: in-memory)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="app processes, clients spread over them (more than one needs --redis)",
    )
    parser.add_argument("--sqlite", action="store_true", help="SQLite file instead of PostgreSQL")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL") or DEFAULT_POSTGRES,
        help="PostgreSQL server (a database per run is created and dropped)",
    )
    parser.add_argument("--profile", help="py-spy raw profile of the app server: path prefix")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size]
    if args.processes > 1 and not args.redis:
        sys.exit("--processes above 1 needs --redis: the processes share Redis, as in production")

    kind = "sqlite" if args.sqlite else "postgres"
    for url in ([] if args.sqlite else [args.database_url]) + ([args.redis] if args.redis else []):
        if problem := unreachable(url):
            sys.exit(f"cannot reach {problem}")
    redis_url = pick_redis_database(args.redis) if args.redis else ""
    workdir = Path(tempfile.mkdtemp(prefix="chatapp-relay-"))
    context = multiprocessing.get_context("spawn")

    sim_parent, sim_child = context.Pipe()
    sim_port = free_port()
    sim_process = context.Process(
        target=simulator_process, args=(sim_port, args.chunk_delay, sim_child), daemon=True
    )
    sim_process.start()
    sim_parent.recv()
    simulator = {
        "pipe": sim_parent,
        "pid": sim_process.pid,
        "port": sim_port,
        "url": f"http://127.0.0.1:{sim_port}/v1",
    }
    driver_parent, driver_child = context.Pipe()
    driver_process_ = context.Process(target=driver_process, args=(driver_child,), daemon=True)
    driver_process_.start()
    driver = {"pipe": driver_parent, "pid": driver_process_.pid}

    base_env = server_environment("", simulator["url"], redis_url)
    layer = "Redis channel layer" if redis_url else "in-memory channel layer"
    database_name = "SQLite file" if args.sqlite else "PostgreSQL"
    setup = (
        f"{servers_described(args.processes)} (DEBUG=0), {database_name}, {layer}; "
        f"simulator in its own process "
        f"at {1 / args.chunk_delay:.0f} chunks/s per stream ({args.effort} effort); "
        f"clients in their own process; sends spread over {args.ramp:.0f} s; "
        f"{os.cpu_count()} CPUs, load average before start {os.getloadavg()[0]:.2f}"
    )
    print(setup, flush=True)
    database = Database(kind, args.database_url, workdir, {**base_env, "DATABASE_URL": ""})
    rows = []
    started = time.monotonic()
    try:
        for n in sizes:
            print(f"N={n} ...", flush=True)
            rows.append(run_size(n, args, simulator, driver, database, redis_url, workdir))
    finally:
        database.close()
        if redis_url:
            flush_redis(redis_url)
        sim_parent.send("stop")
        driver_parent.send(("stop",))
        sim_process.join(5)
        driver_process_.join(5)
    print_table(rows, setup)
    print(f"\nTook {time.monotonic() - started:.0f} s. Server logs in {workdir}")


if __name__ == "__main__":
    main()
