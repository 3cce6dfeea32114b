"""An offline stand-in for an OpenAI-compatible gateway, spoken to over real HTTP.

It streams like a reasoning model (reasoning first, then a markdown answer,
then a usage chunk), thinks longer at higher effort, looks at images it is
sent, and can be told to fail, so the app, the demo and the tests reach it
through the same client code as a real gateway. A small asyncio HTTP/1.1
server keeps it free of any web framework.

Faults are chosen per request by the header ``X-Simulator-Fault: <name>`` or
by ``#fault:<name>`` anywhere in the last user message (so a person in the
browser can provoke one). ``<name>x<N>`` (e.g. ``503x1``) fails only the
first N identical requests, which is what a retry sends. See ``FAULTS``.

Run it on its own with ``python -m chatapp.providers.simulator --port 8001``.
"""

import argparse
import asyncio
import base64
import binascii
import contextlib
import hashlib
import io
import json
import re
import socket
import struct
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image, ImageStat, UnidentifiedImageError

from .catalog import family_for

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
THINKING_STEPS = {"low": 6, "medium": 14, "high": 30}
SIMULATED_MODELS = ("o4-mini", "o3-mini", "o1-mini")
FAULT_HEADER = "x-simulator-fault"
FAULT_TOKEN = re.compile(r"#fault:([A-Za-z0-9-]+)")
FAULT_SPEC = re.compile(r"^(?P<name>[a-z0-9-]+?)(?:x(?P<times>\d+))?$")
RESET_GRACE_SECONDS = 0.1
# How many requests the simulator remembers for tests to inspect.
KEPT_REQUESTS = 50

# Status faults: the error body a gateway sends (AIgateway's codes, OpenAI's shape).
HTTP_FAULTS = {
    "401": (401, "authentication_error", "Incorrect API key provided: {key}."),
    "402": (402, "insufficient_credits", "Wallet empty: top up credits to continue."),
    "404": (404, "not_found", "The model '{model}' does not exist."),
    "429": (429, "rate_limit_error", "Rate limit reached for requests per minute."),
    "500": (500, "server_error", "The upstream provider failed."),
    "503": (503, "service_unavailable", "The upstream provider is saturated."),
}
# Broken streams: the answer starts, then this happens halfway through it.
MID_STREAM_FAULTS = {
    "reset": "the TCP connection is reset",
    "stall": "nothing more is sent, the connection stays open",
    "malformed": "a data line that is not JSON",
    "error-event": "an error object as a data event, then [DONE]",
}
STREAM_FAULTS = {
    "no-done": "the stream ends without finish_reason, usage or [DONE]",
    "no-usage": "no usage chunk",
    "bad-usage": "a usage chunk whose counts are text, not numbers",
    "think-tags": "reasoning as <think>…</think> inside content, tags split across chunks",
    "reasoning-field": "reasoning as delta.reasoning and reasoning_details[] (OpenRouter)",
    "no-reasoning": "no reasoning text, only reasoning_tokens in usage (OpenAI)",
}
FAULTS = {
    **{name: f"HTTP {status} {kind}" for name, (status, kind, _) in HTTP_FAULTS.items()},
    **MID_STREAM_FAULTS,
    **STREAM_FAULTS,
}
REASONING_STYLES = {
    "think-tags": "think-tags",
    "reasoning-field": "reasoning",
    "no-reasoning": "none",
}


@dataclass(frozen=True, slots=True)
class Reply:
    reasoning: list[str]
    answer: list[str]


def compose_reply(body: dict) -> Reply:
    """What the simulated model thinks and answers for a request body."""
    question = FAULT_TOKEN.sub("", _last_user_text(body.get("messages") or []))
    effort = body.get("reasoning_effort") or "medium"
    steps = THINKING_STEPS.get(effort, THINKING_STEPS["medium"])
    topic = " ".join(question.split()[:12]) or "an empty message"
    images = _last_user_images(body.get("messages") or [])
    thoughts = [
        f"The user asks about: {topic}. ",
        "Let me break the question into parts and check each one. ",
    ]
    if images:
        plural = "s" if len(images) > 1 else ""
        thoughts.append(f"I have {len(images)} image{plural} to look at. ")
    thoughts += [f"Step {n}: weigh another angle of the problem. " for n in range(1, steps + 1)]
    thoughts.append("I have enough to answer clearly.")
    seen = "".join(
        f"Image {number}: {describe_image(url)}\n\n" for number, url in enumerate(images, 1)
    )
    answer = (
        f"Here is a simulated answer about *{topic}*.\n\n" + seen + "Key points:\n\n"
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


def describe_image(url: str) -> str:
    """Size and average colour of a data-URL image: proof of exactly which bytes arrived."""
    if not url.startswith("data:") or "," not in url:
        return "not a data URL, so the simulator cannot look at it."
    try:
        data = base64.b64decode(url.split(",", 1)[1], validate=True)
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            red, green, blue = (round(v) for v in ImageStat.Stat(image.convert("RGB")).mean)
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError):
        return "the bytes are not an image the simulator can decode."
    colour = f"#{red:02x}{green:02x}{blue:02x}"
    return f"{width}\N{MULTIPLICATION SIGN}{height} pixels, average colour {colour}."


def _last_user_message(messages: list) -> dict:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return message
    return {}


def _content_parts(message: dict) -> list[dict]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [part for part in content if isinstance(part, dict)]
    return []


def _last_user_text(messages: list) -> str:
    parts = _content_parts(_last_user_message(messages))
    return " ".join(p.get("text", "") for p in parts if p.get("type") == "text")


def _last_user_images(messages: list) -> list[str]:
    parts = _content_parts(_last_user_message(messages))
    return [
        str((p.get("image_url") or {}).get("url", ""))
        for p in parts
        if p.get("type") == "image_url"
    ]


def _pieces(text: str, size: int = 2) -> list[str]:
    """Split text into chunks of a couple of words, keeping every character."""
    words = text.split(" ")
    chunks = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
    return [chunk + " " for chunk in chunks[:-1]] + chunks[-1:]


def _tokens(text: str) -> int:
    return (len(text) + 3) // 4


def stream_chunks(body: dict, reasoning_style: str = "reasoning_content") -> Iterator[dict]:
    """The sequence of chunk objects a streamed completion sends.

    ``reasoning_style`` is where the reasoning text goes, as different
    gateways put it: ``reasoning_content`` (AIgateway, DeepSeek),
    ``reasoning`` (OpenRouter, vLLM, Ollama), ``think-tags`` (a server without
    a reasoning parser) or ``none`` (OpenAI itself).
    """
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
    if reasoning_style == "think-tags":
        # Cut both tags in two, as a tokenizer may.
        yield chunk({"content": "<th"})
        yield chunk({"content": "ink>"})
        for piece in reply.reasoning:
            yield chunk({"content": piece})
        yield chunk({"content": "</thi"})
        yield chunk({"content": "nk>\n\n"})
    elif reasoning_style == "reasoning":
        for piece in reply.reasoning:
            detail = {"type": "reasoning.text", "text": piece, "format": "unknown", "index": 0}
            yield chunk({"reasoning": piece, "reasoning_details": [detail]})
    elif reasoning_style == "reasoning_content":
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
    def __init__(
        self,
        status: int,
        message: str,
        code: str = "invalid_request_error",
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.param = param
        self.headers = headers or {}


REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class Fault:
    name: str
    # Fail only the first ``times`` identical requests; None fails every one.
    times: int | None = None


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """A request as the simulator saw it, for tests to inspect."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict | None = None


class SimulatorServer:
    """The simulator on a loopback port: ``await start()`` in a loop, or ``start_in_thread()``.

    ``received`` keeps the last requests (parsed bodies included) so tests
    can check exactly what a client sent.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, chunk_delay: float = 0.03):
        self.host = host
        self.port = port
        self.chunk_delay = chunk_delay
        self.received: deque[ReceivedRequest] = deque(maxlen=KEPT_REQUESTS)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._fault_hits: Counter[str] = Counter()

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
            # A stalled stream never ends by itself; without this, closing would wait on it.
            for writer in list(self._writers):
                writer.transport.abort()
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
        self._writers.add(writer)
        try:
            method, path, headers, body = await self._read_request(reader)
            await self._route(method, path, headers, body, reader, writer)
        except HTTPError as error:
            await self._send_json(
                writer,
                error.status,
                {
                    "error": {
                        "message": str(error),
                        "type": error.code,
                        "param": error.param,
                        "code": error.code,
                    },
                },
                error.headers,
            )
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _read_request(
        self, reader: asyncio.StreamReader
    ) -> tuple[str, str, dict[str, str], bytes]:
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
        return method, path.split("?", 1)[0], headers, body

    async def _route(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        if path == "/v1/models":
            self.received.append(ReceivedRequest(method, path, headers))
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
        self.received.append(ReceivedRequest(method, path, headers, request))
        fault = self._active_fault(headers, request)
        if fault in HTTP_FAULTS:
            raise _http_fault(fault, headers, request)
        self._check_parameters(request)
        if request.get("stream"):
            await self._stream(reader, writer, request, fault)
        else:
            await self._send_json(writer, 200, _non_streamed(request))

    def _active_fault(self, headers: dict[str, str], request: dict) -> str | None:
        """The fault this request asked for, unless its ``xN`` allowance is used up."""
        fault = requested_fault(headers, request)
        if fault is None:
            return None
        if fault.times is not None:
            key = hashlib.sha256(
                fault.name.encode() + json.dumps(request, sort_keys=True).encode()
            ).hexdigest()
            self._fault_hits[key] += 1
            if self._fault_hits[key] > fault.times:
                return None
        return fault.name

    def _check_parameters(self, request: dict) -> None:
        """Refuse what the real o-series refuse, so shaping mistakes show up offline."""
        family = family_for(str(request.get("model", "")))
        if family.name == "generic":
            return
        caps = family.capabilities
        refused = ["max_tokens", "temperature", "top_p", "stop"]
        if not caps.reasoning_effort:
            refused.append("reasoning_effort")
        if not caps.tools:
            refused += ["tools", "tool_choice"]
        if not caps.json_schema:
            refused.append("response_format")
        for name in refused:
            if name in request:
                raise HTTPError(
                    400, f"Unsupported parameter: '{name}'.", "unsupported_parameter", name
                )
        for position, message in enumerate(request["messages"]):
            if not isinstance(message, dict):
                continue
            if message.get("role") in ("system", "developer") and not caps.system_role:
                param = f"messages[{position}].role"
                raise HTTPError(
                    400,
                    f"Unsupported value: '{param}' does not support 'system' with this model.",
                    "unsupported_value",
                    param,
                )
            has_image = any(p.get("type") == "image_url" for p in _content_parts(message))
            if has_image and not caps.vision:
                raise HTTPError(
                    400,
                    "Invalid content type. image_url is only supported by certain models.",
                    "invalid_value",
                    f"messages[{position}].content",
                )

    async def _stream(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request: dict,
        fault: str | None,
    ) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
        )
        style = REASONING_STYLES.get(fault or "", "reasoning_content")
        chunks = list(stream_chunks(request, style))
        if fault == "no-done":
            chunks = chunks[:-2]
        elif fault == "no-usage":
            chunks = chunks[:-1]
        elif fault == "bad-usage":
            usage = chunks[-1]["usage"]
            chunks[-1]["usage"] = {**usage, "prompt_tokens": str(usage["prompt_tokens"])}
        break_at = _halfway_through_answer(chunks) if fault in MID_STREAM_FAULTS else None
        if style == "reasoning":
            writer.write(b": OPENROUTER PROCESSING\n\n")
        for position, chunk in enumerate(chunks):
            if position == break_at:
                await self._break_stream(fault, reader, writer)
                return
            writer.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            await writer.drain()
            if chunk["choices"] and self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
        if fault != "no-done":
            writer.write(b"data: [DONE]\n\n")
            await writer.drain()

    async def _break_stream(
        self, fault: str | None, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if fault == "reset":
            # A reset discards data the client has not read yet; let it read the
            # answer so far, as it would have over a real network by then.
            await asyncio.sleep(RESET_GRACE_SECONDS)
            # Linger 0 makes close send RST instead of FIN: a reset, not an ending.
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        elif fault == "stall":
            # Hold the connection open until the client gives up (or the server stops).
            with contextlib.suppress(ConnectionError):
                await reader.read()
        elif fault == "malformed":
            writer.write(b'data: {"choices": [{"index": 0, "delta": {"content": "cut\n\n')
            await writer.drain()
        elif fault == "error-event":
            error = {
                "error": {
                    "message": "The upstream provider failed during generation.",
                    "type": "server_error",
                    "code": "server_error",
                }
            }
            writer.write(b"data: " + json.dumps(error).encode() + b"\n\ndata: [DONE]\n\n")
            await writer.drain()

    async def _send_json(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        payload: dict,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(payload).encode()
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        writer.write(
            f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n{extra}"
            "Connection: close\r\n\r\n".encode()
            + data
        )
        await writer.drain()


def requested_fault(headers: dict[str, str], request: dict) -> Fault | None:
    """The fault named by the header or by a ``#fault:`` token in the last user message."""
    spec = headers.get(FAULT_HEADER)
    if not spec:
        match = FAULT_TOKEN.search(_last_user_text(request.get("messages") or []))
        spec = match.group(1) if match else None
    if not spec:
        return None
    parsed = FAULT_SPEC.match(spec.strip().lower())
    if parsed is None or parsed["name"] not in FAULTS:
        known = ", ".join(FAULTS)
        raise HTTPError(400, f"Unknown simulator fault '{spec}'. Known faults: {known}.")
    times = parsed["times"]
    return Fault(parsed["name"], int(times) if times is not None else None)


def _http_fault(fault: str, headers: dict[str, str], request: dict) -> HTTPError:
    status, code, template = HTTP_FAULTS[fault]
    # Echo the key like a careless gateway, so tests can prove the client never shows it.
    key = headers.get("authorization", "").removeprefix("Bearer ").strip() or "(none)"
    message = template.format(key=key, model=request.get("model", ""))
    retry_after = {"Retry-After": "1"} if status == 429 else None
    return HTTPError(status, message, code, headers=retry_after)


def _halfway_through_answer(chunks: list[dict]) -> int:
    answer = [
        position
        for position, chunk in enumerate(chunks)
        if chunk["choices"] and chunk["choices"][0]["delta"].get("content")
    ]
    return answer[len(answer) // 2]


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
