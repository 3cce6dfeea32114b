"""A local HTTP server that answers with scripted responses, for client tests over real sockets.

Recorded streams are sent event by event (with a drain between), so the
client parses them as they arrive, as it would from a gateway.
"""

import asyncio
import json
import ssl
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

RECORDINGS = Path(__file__).parent / "recordings"


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/event-stream"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def recording(cls, name: str) -> "Answer":
        return cls(body=(RECORDINGS / name).read_bytes())

    @classmethod
    def error(cls, status: int, payload: dict, headers: dict[str, str] | None = None) -> "Answer":
        return cls(status, json.dumps(payload).encode(), "application/json", headers or {})

    @classmethod
    def json(cls, payload: dict) -> "Answer":
        return cls(200, json.dumps(payload).encode(), "application/json")


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: dict


class ScriptedGateway:
    """Answers the n-th request with the n-th scripted answer; the last one repeats.

    With ``keep_alive`` it keeps connections open between answers (streams sent
    chunked), as real gateways do; ``connections`` counts those it accepted.
    """

    def __init__(self, keep_alive: bool = False, tls: ssl.SSLContext | None = None) -> None:
        self.script: list[Answer] = []
        self.received: list[Received] = []
        self.keep_alive = keep_alive
        self.connections = 0
        self._tls = tls
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    def will_answer(self, *answers: Answer) -> None:
        self.script = list(answers)

    @property
    def base_url(self) -> str:
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"{'https' if self._tls else 'http'}://{host}:{port}/v1"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._tls)

    def hang_up(self) -> None:
        """Close every open connection, as a gateway does with idle kept-alive ones."""
        for writer in self._open:
            writer.close()

    async def stop(self) -> None:
        self._server.close()
        # wait_closed() waits for every connection, and a kept-alive one waits for us.
        self.hang_up()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._open.add(writer)
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                headers = {
                    name.strip().lower(): value.strip()
                    for name, value in (line.split(":", 1) for line in head[1:] if ":" in line)
                }
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                self.received.append(Received(headers, json.loads(body) if body else {}))
                answer = self.script[min(len(self.received), len(self.script)) - 1]
                await self._send(writer, answer)
                if not self.keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._open.discard(writer)
            writer.close()

    async def _send(self, writer: asyncio.StreamWriter, answer: Answer) -> None:
        head = [
            f"HTTP/1.1 {answer.status} {HTTPStatus(answer.status).phrase}",
            f"Content-Type: {answer.content_type}",
            *(f"{name}: {value}" for name, value in answer.headers.items()),
        ]
        streamed = answer.content_type == "text/event-stream"
        chunked = streamed and self.keep_alive
        if not self.keep_alive:
            head.append("Connection: close")
        if chunked:
            head.append("Transfer-Encoding: chunked")
        elif not streamed:
            head.append(f"Content-Length: {len(answer.body)}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        events = answer.body.split(b"\n\n") if streamed else [answer.body]
        for event in events:
            data = event + b"\n\n" if streamed and event else event
            if chunked and data:
                data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
            writer.write(data)
            await writer.drain()
        if chunked:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
