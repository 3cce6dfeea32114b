"""An offline stand-in for an OpenAI-compatible gateway, spoken to over real HTTP.

It streams like a reasoning model (reasoning first, then a markdown answer,
then a usage chunk), thinks longer at higher effort, and serves the offline
default, the demo and the tests through the same client code as a real
gateway. A small asyncio HTTP/1.1 server keeps it free of any web framework.

Run it on its own with ``python -m chatapp.providers.simulator --port 8001``.
"""

import argparse
import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from .catalog import family_for

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
THINKING_STEPS = {"low": 6, "medium": 14, "high": 30}
SIMULATED_MODELS = ("o4-mini", "o3-mini", "o1-mini")


@dataclass(frozen=True, slots=True)
class Reply:
    reasoning: list[str]
    answer: list[str]


def compose_reply(body: dict) -> Reply:
    """What the simulated model thinks and answers for a request body."""
    question = _last_user_text(body.get("messages") or [])
    effort = body.get("reasoning_effort") or "medium"
    steps = THINKING_STEPS.get(effort, THINKING_STEPS["medium"])
    topic = " ".join(question.split()[:12]) or "an empty message"
    thoughts = [
        f"The user asks about: {topic}. ",
        "Let me break the question into parts and check each one. ",
    ]
    thoughts += [f"Step {n}: weigh another angle of the problem. " for n in range(1, steps + 1)]
    thoughts.append("I have enough to answer clearly.")
    answer = (
        f"Here is a simulated answer about *{topic}*.\n\n"
        "Key points:\n\n"
        "1. The simulator streams reasoning first, then this answer.\n"
        f"2. Reasoning effort was **{effort}**, so it thought in {steps} steps.\n"
        "3. Configure a real gateway to get real answers.\n\n"
        "| Effort | Steps |\n"
        "| --- | --- |\n"
        + "".join(f"| {name} | {count} |\n" for name, count in THINKING_STEPS.items())
        + "\n```python\ndef answer(question: str) -> str:\n"
        '    return f"Thinking about {question}"\n```\n'
    )
    return Reply(reasoning=_pieces("".join(thoughts)), answer=_pieces(answer))


def _last_user_text(messages: list) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(
                    part.get("text", "")
                    for part in content
                    if isinstance(part, dict) and part.get("type") == "text"
                )
    return ""


def _pieces(text: str, size: int = 2) -> list[str]:
    """Split text into chunks of a couple of words, keeping every character."""
    words = text.split(" ")
    chunks = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
    return [chunk + " " for chunk in chunks[:-1]] + chunks[-1:]


def _tokens(text: str) -> int:
    return (len(text) + 3) // 4


def stream_chunks(body: dict) -> Iterator[dict]:
    """The sequence of chunk objects a streamed completion sends."""
    reply = compose_reply(body)
    model = str(body.get("model", "o4-mini"))
    base = {
        "id": f"chatcmpl-sim-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    yield chunk({"role": "assistant", "content": ""})
    for piece in reply.reasoning:
        yield chunk({"reasoning_content": piece})
    for piece in reply.answer:
        yield chunk({"content": piece})
    yield chunk({}, "stop")
    reasoning_tokens = _tokens("".join(reply.reasoning))
    completion_tokens = reasoning_tokens + _tokens("".join(reply.answer))
    prompt_tokens = _tokens(json.dumps(body.get("messages", [])))
    yield {
        **base,
        "choices": [],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
        },
    }


class HTTPError(Exception):
    def __init__(self, status: int, message: str, code: str = "invalid_request_error"):
        super().__init__(message)
        self.status = status
        self.code = code


REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
}


class SimulatorServer:
    """The simulator on a loopback port: ``await start()`` in a loop, or ``start_in_thread()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, chunk_delay: float = 0.03):
        self.host = host
        self.port = port
        self.chunk_delay = chunk_delay
        self._server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.base_url

    async def stop(self) -> None:
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    def start_in_thread(self) -> str:
        """Serve from a daemon thread with its own event loop; return the base URL."""
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()

        threading.Thread(target=run, name="chatapp-simulator", daemon=True).start()
        ready.wait(timeout=10)
        return self.base_url

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            method, path, body = await self._read_request(reader)
            await self._route(method, path, body, writer)
        except HTTPError as error:
            await self._send_json(
                writer,
                error.status,
                {
                    "error": {
                        "message": str(error),
                        "type": error.code,
                        "param": None,
                        "code": error.code,
                    },
                },
            )
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[str, str, bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_HEAD_BYTES:
            raise HTTPError(400, "Request head too large.")
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, path, _ = lines[0].split(" ", 2)
        except ValueError:
            raise HTTPError(400, "Malformed request line.") from None
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            raise HTTPError(413, "Request body too large.")
        body = await reader.readexactly(length) if length else b""
        return method, path.split("?", 1)[0], body

    async def _route(self, method: str, path: str, body: bytes, writer) -> None:
        if path == "/v1/models":
            if method != "GET":
                raise HTTPError(405, "Use GET.")
            await self._send_json(
                writer,
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": name, "object": "model", "owned_by": "simulator"}
                        for name in SIMULATED_MODELS
                    ],
                },
            )
            return
        if path != "/v1/chat/completions":
            raise HTTPError(404, f"Unknown endpoint {path}.", "not_found")
        if method != "POST":
            raise HTTPError(405, "Use POST.")
        try:
            request = json.loads(body)
        except ValueError:
            raise HTTPError(400, "The body is not valid JSON.") from None
        if not isinstance(request, dict) or not isinstance(request.get("messages"), list):
            raise HTTPError(400, "'messages' is required.")
        self._check_parameters(request)
        if request.get("stream"):
            await self._stream(writer, request)
        else:
            await self._send_json(writer, 200, _non_streamed(request))

    def _check_parameters(self, request: dict) -> None:
        """Refuse what the real o-series refuse, so shaping mistakes show up offline."""
        family = family_for(str(request.get("model", "")))
        if family.name == "generic":
            return
        for name in ("max_tokens", "temperature", "top_p"):
            if name in request:
                raise HTTPError(400, f"Unsupported parameter: '{name}'.", "unsupported_parameter")
        if "reasoning_effort" in request and not family.capabilities.reasoning_effort:
            raise HTTPError(
                400, "Unsupported parameter: 'reasoning_effort'.", "unsupported_parameter"
            )

    async def _stream(self, writer: asyncio.StreamWriter, request: dict) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
        )
        for chunk in stream_chunks(request):
            writer.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            await writer.drain()
            if chunk["choices"] and self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
        writer.write(b"data: [DONE]\n\n")
        await writer.drain()

    async def _send_json(self, writer: asyncio.StreamWriter, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        writer.write(
            f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + data
        )
        await writer.drain()


def _non_streamed(request: dict) -> dict:
    chunks = list(stream_chunks(request))
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    reasoning = "".join(
        c["choices"][0]["delta"].get("reasoning_content", "") for c in chunks if c["choices"]
    )
    return {
        "id": chunks[0]["id"],
        "object": "chat.completion",
        "created": chunks[0]["created"],
        "model": chunks[0]["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "reasoning_content": reasoning},
                "finish_reason": "stop",
            }
        ],
        "usage": chunks[-1]["usage"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the chatapp gateway simulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument(
        "--chunk-delay", type=float, default=0.03, help="seconds between streamed chunks"
    )
    args = parser.parse_args()
    server = SimulatorServer(args.host, args.port, args.chunk_delay)

    async def serve() -> None:
        print(f"Simulator at {await server.start()}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
