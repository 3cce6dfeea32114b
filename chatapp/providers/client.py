"""The streaming client: one async generator for every OpenAI-compatible gateway."""

import asyncio
import http.cookiejar
import json
import logging
import random
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, aclosing, suppress
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

import httpx
from httpx_sse import EventSource, SSEError

from chatapp.eventloops import one_per_event_loop

from .catalog import ModelFamily, family_for
from .errors import ProviderError, error_from_response, error_from_stream_event
from .events import Finished, ReasoningDelta, StreamEvent, TextDelta, ToolCallDelta, Usage
from .network import AsyncioBackend
from .parsing import ChunkParser, estimate_prompt_tokens, tokens_for_chars
from .request import ChatRequest

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Reasoning models may think silently for minutes: read is long, the rest short.

    ``connect`` bounds connecting and waiting for a pooled connection, ``read``
    the silence between two pieces of the stream, ``deadline`` the whole
    completion including retries.
    """

    connect: float = 10.0
    read: float = 300.0
    deadline: float = 900.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try a failed request again.

    Only failures marked retryable, and only before the first event reached
    the caller: a half-streamed answer is never replayed. A ``Retry-After``
    is honoured as given; one longer than ``max_delay`` ends the retries at
    once, because the error already tells the person when to try again, which
    beats a silent wait.
    """

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int, error: ProviderError) -> float | None:
        """Seconds to wait after failed attempt number ``attempt``, or None to give up."""
        if not error.retryable or attempt >= self.attempts:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_delay else None
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        # Jitter keeps many clients that failed together from retrying together.
        return random.uniform(backoff / 2, backoff)


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(attempts=1)


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

    def check(self) -> None:
        """Raise a ProviderError if no request to this gateway can succeed as configured.

        httpx failed on a key an HTTP header cannot carry with a
        UnicodeEncodeError (neither a clear message nor a failover), and a
        port past 65535 was wrapped round by the resolver to another one.
        """
        if not sendable_key(self.api_key):
            # Retryable so that a caller can hand over to another gateway, as a
            # failed connection is; callers check before retrying, never after.
            raise ProviderError(
                message=f"The API key configured for {self.name} contains a character a key "
                "cannot have (often a space pasted with it), so it was not sent. An "
                f"administrator needs to check the key configured for {self.name}.",
                code="invalid_api_key",
                retryable=True,
            )
        if not valid_port(self.base_url):
            raise _invalid_url(self.name)

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def redact(self, error: ProviderError) -> ProviderError:
        """Remove the key from everything a caller might show or log."""
        if self.api_key:
            for name in ("message", "code", "param"):
                value = getattr(error, name)
                if value and self.api_key in value:
                    setattr(error, name, value.replace(self.api_key, "[redacted]"))
        return error


def sendable_key(key: str) -> bool:
    """Whether an HTTP header can carry ``key``: printable ASCII (keys are).

    A non-breaking space or a typographic dash pasted with it cannot be sent;
    nor can a space at either end (h11 refused it, which read as a broken
    connection, and one at the front made a key the gateway did not know).
    """
    return key.isascii() and key.isprintable() and key == key.strip()


def valid_port(url: str) -> bool:
    """Whether ``url`` names no port or one from 0 to 65535."""
    try:
        urlsplit(url).port  # noqa: B018 (reading it raises for one out of range)
    except ValueError:
        return False
    return True


async def stream_chat(
    endpoint: Endpoint,
    request: ChatRequest,
    family: ModelFamily | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> AsyncIterator[StreamEvent]:
    """Stream one completion as typed events; raise ProviderError on any failure.

    Ends with one Usage (estimated when the gateway sent none) and a Finished.
    A retryable failure before the first event is retried per ``retry``; after
    it, the error reaches the caller, who keeps what was already yielded. A
    gateway configured so that no request can succeed fails at once.
    """
    endpoint.check()
    family = family or family_for(request.model)
    body = family.shape(request)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + endpoint.timeouts.deadline
    attempt = 1
    while True:
        yielded = False
        try:
            async for event in _attempt(endpoint, body, deadline):
                yielded = True
                yield event
            return
        except ProviderError as error:
            failure = endpoint.redact(error)
        wait = None if yielded else retry.delay(attempt, failure)
        if wait is None or loop.time() + wait >= deadline:
            raise failure
        logger.warning(
            "retrying a failed completion",
            extra={
                "provider": endpoint.name,
                "attempt": attempt,
                "code": failure.code,
                "status": failure.status,
                "wait_seconds": round(wait, 3),
            },
        )
        await asyncio.sleep(wait)
        attempt += 1


@cache
def tls_context() -> ssl.SSLContext:
    """One verified TLS context for every request (honouring SSL_CERT_FILE as httpx does):
    building one loads the CA bundle, which cost more than relaying a whole answer."""
    return httpx.create_ssl_context()


# Idle connections are closed before common server idle limits (uvicorn's, so
# vLLM's, is 5 s): reusing one the server is closing would fail the request.
KEEPALIVE_SECONDS = 3.0


@one_per_event_loop
def _client() -> httpx.AsyncClient:
    """One client per event loop, so answers reuse kept-alive connections to a gateway.

    A client per request meant a new TCP and TLS handshake for every answer,
    and setting up a client is itself work the event loop waits for when
    many answers start at once. Timeouts are per request (gateways differ).
    The client keeps no cookies: it serves every member and every gateway key.
    """
    # No cap on idle connections: httpcore compares the cap with all of its
    # connections, so with more answers streaming than the cap, none was kept.
    limits = httpx.Limits(
        max_connections=None, max_keepalive_connections=None, keepalive_expiry=KEEPALIVE_SECONDS
    )
    no_cookies = http.cookiejar.CookieJar(
        policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
    )
    client = httpx.AsyncClient(verify=tls_context(), limits=limits, cookies=no_cookies)
    # httpx takes no network backend; the connection pool of its direct route
    # does (see network.py). Routes through a proxy (HTTPS_PROXY...) keep httpx's.
    client._transport._pool._network_backend = AsyncioBackend()
    return client


async def _attempt(endpoint: Endpoint, body: dict, deadline: float) -> AsyncIterator[StreamEvent]:
    """One HTTP request; every failure comes out as a ProviderError."""
    parser = ChunkParser()
    generated_chars = reasoning_chars = 0
    timeouts = endpoint.timeouts
    timeout = httpx.Timeout(timeouts.read, connect=timeouts.connect, pool=timeouts.connect)
    client = _client()
    overall = _Deadline(deadline)
    try:
        async with AsyncExitStack() as stack:
            stack.callback(overall.close)
            with overall:
                response = await stack.enter_async_context(
                    client.stream(
                        "POST",
                        endpoint.url("/chat/completions"),
                        json=body,
                        headers=endpoint.headers(),
                        timeout=timeout,
                    )
                )
                if not response.is_success:
                    raw = await response.aread()
                    raise error_from_response(
                        response.status_code,
                        raw,
                        dict(response.headers),
                        endpoint.name,
                        secret=endpoint.api_key,
                    )
            source = _ChunkSource(response, endpoint.name)
            chunks = await stack.enter_async_context(aclosing(source.chunks()))
            while True:
                with overall:
                    chunk = await anext(chunks, None)
                if chunk is None:
                    break
                if isinstance(chunk.get("error"), dict | str):
                    raise error_from_stream_event(chunk, endpoint.name, secret=endpoint.api_key)
                for event in parser.feed(chunk):
                    generated_chars += _generated_chars(event)
                    if isinstance(event, ReasoningDelta):
                        reasoning_chars += len(event.text)
                    yield event
    except (TimeoutError, httpx.HTTPError, httpx.InvalidURL) as error:
        raise _transport_error(error, endpoint) from None
    # Without [DONE] the answer is whole only if the gateway said how it ended;
    # otherwise the connection was cut and the caller must not take it as done.
    # Retryable, which only matters if nothing arrived: then a retry replays nothing.
    if not source.done and parser.finish_reason is None:
        raise ProviderError(
            message=f"The connection to {endpoint.name} ended before the answer was complete.",
            code="incomplete_stream",
            retryable=True,
        )
    for event in parser.flush():
        yield event
    yield parser.usage or Usage(
        prompt_tokens=estimate_prompt_tokens(body["messages"]),
        completion_tokens=tokens_for_chars(generated_chars),
        reasoning_tokens=tokens_for_chars(reasoning_chars),
        estimated=True,
    )
    yield Finished(parser.finish_reason or "stop")


class _Deadline:
    """A request's overall deadline, enforced only while it waits on the gateway.

    Entered around our own awaits, never around the yields: the caller's work
    between two chunks (sending them on) is not ours to cancel. If the
    deadline passes there, the next wait fails at once. ``asyncio.timeout_at``
    around each read did the same with a timer set and cancelled per chunk,
    5 % of a process's CPU with 200 answers streaming; this sets one per
    request and cancels the task only if it is waiting.
    """

    __slots__ = ("_cancelled_before", "_cancelled_by_us", "_handle", "_task", "passed")

    def __init__(self, when: float) -> None:
        self.passed = False
        self._task: asyncio.Task | None = None
        # The task's cancellation count on entering, and whether we added one.
        self._cancelled_before = 0
        self._cancelled_by_us = False
        self._handle = asyncio.get_running_loop().call_at(when, self._pass)

    def _pass(self) -> None:
        self.passed = True
        if self._task is not None and not self._cancelled_by_us:
            self._cancelled_by_us = True
            self._task.cancel()

    def __enter__(self) -> None:
        if self.passed:
            raise TimeoutError
        self._task = task = asyncio.current_task()
        self._cancelled_before = task.cancelling()

    def __exit__(self, kind, error, traceback) -> None:
        task, self._task = self._task, None
        if not self._cancelled_by_us:
            return
        self._cancelled_by_us = False
        # As asyncio.timeout: only a cancellation of ours alone becomes TimeoutError;
        # one from elsewhere (a Stop) in the same moment stays a cancellation.
        cancelled_by_others = task.uncancel() > self._cancelled_before
        if kind is asyncio.CancelledError and not cancelled_by_others:
            raise TimeoutError from error

    def close(self) -> None:
        self._handle.cancel()


class _ChunkSource:
    """Decoded chunks of one response; ``done`` says whether the gateway sent [DONE]."""

    def __init__(self, response: httpx.Response, provider: str) -> None:
        self.response = response
        self.provider = provider
        self.done = False

    async def chunks(self) -> AsyncIterator[dict]:
        content_type = self.response.headers.get("content-type", "")
        if "json" in content_type and "event-stream" not in content_type:
            # A gateway that ignores ``stream: true`` answers with one whole
            # completion; read as a single chunk, the answer still arrives.
            yield _decode_chunk(await self.response.aread(), self.provider)
            self.done = True
            return
        # The SSE standard reads every stream as UTF-8 and drops a leading BOM;
        # a kept BOM hid the first event, a charset label garbled the text.
        self.response.encoding = "utf-8-sig"
        events = EventSource(self.response).aiter_sse()
        async for sse in events:
            if sse.data.strip() == "[DONE]":  # some servers pad it
                self.done = True
                await _read_to_the_end(events)
                return
            if sse.data:
                yield _decode_chunk(sse.data, self.provider)


# How long to wait for the end of a response after [DONE].
AFTER_DONE_SECONDS = 0.1


async def _read_to_the_end(events: AsyncIterator) -> None:
    """Read what follows [DONE] (normally only the end of the body).

    A connection whose response was read to its end goes back to the pool
    for the next answer; one closed early is thrown away. The answer is
    complete already, so a gateway that keeps the response open, or breaks
    it now, only loses the connection.
    """
    with suppress(httpx.HTTPError, SSEError, TimeoutError):
        async with asyncio.timeout(AFTER_DONE_SECONDS):
            async for _ in events:
                pass


def _generated_chars(event: StreamEvent) -> int:
    if isinstance(event, TextDelta | ReasoningDelta):
        return len(event.text)
    if isinstance(event, ToolCallDelta):
        return len(event.arguments)
    return 0


def _decode_chunk(data: str | bytes, provider: str) -> dict:
    try:
        chunk = json.loads(data)
    except (ValueError, RecursionError):  # the latter for absurdly nested JSON
        chunk = None
    if not isinstance(chunk, dict):
        raise ProviderError(
            message=f"{provider} sent a malformed piece of the answer, so it was cut off.",
            code="malformed_chunk",
        )
    return chunk


def _transport_error(error: Exception, endpoint: Endpoint) -> ProviderError:
    """A sentence for a failure below HTTP: what broke, and whether trying again may help."""
    name, timeouts = endpoint.name, endpoint.timeouts
    if isinstance(error, TimeoutError):
        return ProviderError(
            message=f"{name} took longer than {timeouts.deadline:g} s in total, so the answer "
            "was cut off.",
            code="deadline",
        )
    if isinstance(error, httpx.ConnectError):
        reason, retryable = _connect_failure(error)
        return ProviderError(
            message=f"Could not connect to {name}: {reason}",
            code="connect_error",
            retryable=retryable,
        )
    if isinstance(error, httpx.ConnectTimeout | httpx.PoolTimeout):
        return ProviderError(
            message=f"Could not connect to {name} within {timeouts.connect:g} s.",
            code="connect_timeout",
            retryable=True,
        )
    if isinstance(error, httpx.ReadTimeout):
        return ProviderError(
            message=f"{name} sent nothing for {timeouts.read:g} s, so the answer was given up.",
            code="read_timeout",
            retryable=True,
        )
    if isinstance(error, httpx.WriteTimeout):
        return ProviderError(
            message=f"Sending the request to {name} took too long.",
            code="write_timeout",
            retryable=True,
        )
    if isinstance(error, SSEError):
        return ProviderError(message=f"{name} did not answer with a stream.", code="not_a_stream")
    if isinstance(error, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return _invalid_url(name)
    return ProviderError(
        message=f"The connection to {name} broke off during the answer.",
        code="connection_lost",
        retryable=True,
    )


def _invalid_url(name: str) -> ProviderError:
    return ProviderError(
        message=f"The base URL configured for {name} is not a valid http(s) address.",
        code="invalid_url",
    )


def _connect_failure(error: httpx.ConnectError) -> tuple[str, bool]:
    """Why a connection failed, read from the OS error underneath httpx's."""
    for cause in _causes(error):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "its TLS certificate could not be verified.", False
        if isinstance(cause, ssl.SSLError):
            return "the secure (TLS) connection failed.", False
        if isinstance(cause, socket.gaierror):
            # EAI_AGAIN is a resolver hiccup; a name that does not exist stays so.
            return "the host name could not be resolved.", cause.errno == socket.EAI_AGAIN
        if isinstance(cause, ConnectionRefusedError):
            return "the connection was refused.", True
    return "the server could not be reached.", True


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


async def list_models(endpoint: Endpoint) -> list[str]:
    """The model ids a gateway offers, from its ``/models`` endpoint."""
    endpoint.check()
    timeout = httpx.Timeout(30.0, connect=endpoint.timeouts.connect)
    async with httpx.AsyncClient(timeout=timeout, verify=tls_context()) as client:
        started = time.monotonic()
        try:
            response = await client.get(endpoint.url("/models"), headers=endpoint.headers())
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise endpoint.redact(_transport_error(error, endpoint)) from None
        logger.info(
            "listed models",
            extra={"provider": endpoint.name, "seconds": time.monotonic() - started},
        )
        if not response.is_success:
            raise endpoint.redact(
                error_from_response(
                    response.status_code,
                    response.content,
                    dict(response.headers),
                    endpoint.name,
                    secret=endpoint.api_key,
                )
            )
        try:
            data = response.json().get("data")
            if not isinstance(data, list):
                raise ValueError("no list of models")
            return sorted(str(item["id"]) for item in data if isinstance(item, dict))
        except (ValueError, RecursionError, AttributeError, KeyError):
            raise ProviderError(
                message=f"{endpoint.name} answered the model list in an unknown format."
            ) from None
