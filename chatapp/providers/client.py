"""The streaming client: one async generator for every OpenAI-compatible gateway."""

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from httpx_sse import SSEError, aconnect_sse

from .catalog import ModelFamily, family_for
from .errors import ProviderError, error_from_response, error_from_stream_event
from .events import Finished, ReasoningDelta, StreamEvent, TextDelta, Usage
from .parsing import ChunkParser, estimate_tokens
from .request import ChatRequest

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Reasoning models may think silently for minutes: read is long, the rest short."""

    connect: float = 10.0
    read: float = 300.0
    deadline: float = 900.0


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    base_url: str
    api_key: str = ""
    timeouts: Timeouts = Timeouts()

    def __repr__(self) -> str:  # never print the key, even in a traceback's locals
        return f"Endpoint(name={self.name!r}, base_url={self.base_url!r})"

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def redact(self, error: ProviderError) -> ProviderError:
        if self.api_key and self.api_key in error.message:
            error.message = error.message.replace(self.api_key, "[redacted]")
        return error


async def stream_chat(
    endpoint: Endpoint, request: ChatRequest, family: ModelFamily | None = None
) -> AsyncIterator[StreamEvent]:
    """Stream one completion as typed events; raise ProviderError on any failure.

    Ends with a Usage (estimated when the gateway sent none) and a Finished.
    """
    family = family or family_for(request.model)
    body = family.shape(request)
    try:
        async for event in _stream(endpoint, body):
            yield event
    except ProviderError as error:
        raise endpoint.redact(error) from None


async def _stream(endpoint: Endpoint, body: dict) -> AsyncIterator[StreamEvent]:
    timeouts = endpoint.timeouts
    timeout = httpx.Timeout(timeouts.read, connect=timeouts.connect, pool=timeouts.connect)
    parser = ChunkParser()
    deadline = asyncio.get_running_loop().time() + timeouts.deadline
    answer_chars = 0
    reasoning_chars = 0
    async with httpx.AsyncClient(timeout=timeout) as client:
        try:
            async with aconnect_sse(
                client,
                "POST",
                endpoint.url("/chat/completions"),
                json=body,
                headers=endpoint.headers(),
            ) as source:
                response = source.response
                if not response.is_success:
                    raw = await response.aread()
                    raise error_from_response(
                        response.status_code, raw, dict(response.headers), endpoint.name
                    )
                done = False
                events = aiter(source.aiter_sse())
                while True:
                    # The deadline only wraps our own awaits: a timeout around the
                    # yields would cancel whatever the caller is doing in between.
                    async with asyncio.timeout_at(deadline):
                        sse = await anext(events, None)
                    if sse is None:
                        break
                    if sse.data == "[DONE]":
                        done = True
                        break
                    if not sse.data:
                        continue
                    chunk = _decode_chunk(sse.data, endpoint.name)
                    if isinstance(chunk.get("error"), dict | str):
                        raise error_from_stream_event(chunk, endpoint.name)
                    for event in parser.feed(chunk):
                        if isinstance(event, TextDelta):
                            answer_chars += len(event.text)
                        elif isinstance(event, ReasoningDelta):
                            reasoning_chars += len(event.text)
                        yield event
                if not done and parser.finish_reason is None:
                    raise ProviderError(
                        message=f"The connection to {endpoint.name} ended before the answer "
                        "was complete.",
                        code="incomplete_stream",
                        retryable=True,
                    )
        except TimeoutError:
            raise ProviderError(
                message=f"{endpoint.name} took longer than {timeouts.deadline:g} s in total, "
                "so the answer was cut off.",
                code="deadline",
            ) from None
        except httpx.ConnectError as error:
            raise ProviderError(
                message=f"Could not connect to {endpoint.name}: {_connect_reason(error)}",
                code="connect_error",
                retryable=True,
            ) from None
        except httpx.ReadTimeout:
            raise ProviderError(
                message=f"{endpoint.name} sent nothing for {timeouts.read:g} s, so the answer "
                "was given up.",
                code="read_timeout",
                retryable=True,
            ) from None
        except httpx.TimeoutException:
            raise ProviderError(
                message=f"Timed out connecting to {endpoint.name}.",
                code="connect_timeout",
                retryable=True,
            ) from None
        except SSEError:
            raise ProviderError(
                message=f"{endpoint.name} did not answer with a stream.",
                code="not_a_stream",
            ) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            raise ProviderError(
                message=f"The connection to {endpoint.name} broke off during the answer.",
                code="connection_lost",
                retryable=True,
            ) from None
    for event in parser.flush():
        yield event
    if parser.usage is None:
        yield Usage(
            prompt_tokens=estimate_tokens(json.dumps(body["messages"])),
            completion_tokens=(answer_chars + reasoning_chars + 3) // 4,
            reasoning_tokens=(reasoning_chars + 3) // 4,
            estimated=True,
        )
    yield Finished(parser.finish_reason or "stop")


def _decode_chunk(data: str, provider: str) -> dict:
    try:
        chunk = json.loads(data)
    except ValueError:
        raise ProviderError(
            message=f"{provider} sent a malformed piece of the answer, so it was cut off.",
            code="malformed_chunk",
        ) from None
    if not isinstance(chunk, dict):
        raise ProviderError(
            message=f"{provider} sent a malformed piece of the answer, so it was cut off.",
            code="malformed_chunk",
        )
    return chunk


def _connect_reason(error: httpx.ConnectError) -> str:
    text = str(error).lower()
    if "name or service" in text or "nodename" in text or "getaddrinfo" in text:
        return "the host name could not be resolved."
    if "certificate" in text or "ssl" in text or "tls" in text:
        return "the secure (TLS) connection failed."
    if "refused" in text:
        return "the connection was refused."
    return "the server could not be reached."


async def list_models(endpoint: Endpoint) -> list[str]:
    """The model ids a gateway offers, from its ``/models`` endpoint."""
    timeout = httpx.Timeout(30.0, connect=endpoint.timeouts.connect)
    async with httpx.AsyncClient(timeout=timeout) as client:
        started = time.monotonic()
        try:
            response = await client.get(endpoint.url("/models"), headers=endpoint.headers())
        except httpx.HTTPError:
            raise endpoint.redact(
                ProviderError(message=f"Could not reach {endpoint.name}.", retryable=True)
            ) from None
        logger.info(
            "listed models",
            extra={"provider": endpoint.name, "seconds": time.monotonic() - started},
        )
        if not response.is_success:
            raise endpoint.redact(
                error_from_response(
                    response.status_code, response.content, dict(response.headers), endpoint.name
                )
            )
        try:
            data = response.json().get("data", [])
            return sorted(str(item["id"]) for item in data if isinstance(item, dict))
        except (ValueError, AttributeError, KeyError):
            raise ProviderError(
                message=f"{endpoint.name} answered the model list in an unknown format."
            ) from None
