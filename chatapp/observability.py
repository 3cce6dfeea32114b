"""Health probes, request ids and structured, redacted logs.

- ``/healthz`` answers 200 while the process runs (no database, no host check).
- ``/readyz`` answers 200 when the database and the channel layer both answer,
  503 naming the part that did not.
- Every request gets an id: the ``X-Request-ID`` it came with (when sane) or a
  new one. It is set on the response, on ``request.request_id`` and on every
  log line written while the request (or websocket connection) is handled.
- ``JsonFormatter`` writes one JSON object per line with the record's extra
  fields (a completion's provider, model, status, seconds, tokens), and both
  formatters mask anything that looks like an API key or bearer token.

Nothing here imports models: the logging configuration imports this module
while Django is still being set up.
"""

import asyncio
import contextlib
import contextvars
import json
import logging
import logging.config
import os
import re
import time
import traceback
import uuid
from datetime import UTC, datetime

from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponseServerError, JsonResponse
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import requires_csrf_token

logger = logging.getLogger("chatapp.request")

REQUEST_ID_HEADER = "X-Request-ID"
_NO_REQUEST = "-"
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "request_id", default=_NO_REQUEST
)
# An id from outside is kept only if it is short and plain (it ends up in logs).
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def current_request_id() -> str:
    return request_id_var.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_from(value: str | None) -> str:
    value = (value or "").strip()
    return value if _SANE_ID.fullmatch(value) else new_request_id()


# ---------------------------------------------------------------------------
# Health probes


@login_not_required
@never_cache
async def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving. Touches nothing else."""
    return JsonResponse({"status": "ok"})


def _database_ping() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def _check_database() -> None:
    await sync_to_async(_database_ping, thread_sensitive=True)()


async def _check_channel_layer(timeout: float = 2.0) -> None:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel()
    token = uuid.uuid4().hex
    await layer.send(channel, {"type": "readyz.ping", "token": token})
    message = await asyncio.wait_for(layer.receive(channel), timeout)
    await _drop_channel(layer, channel)
    if message.get("token") != token:
        raise RuntimeError("channel layer returned another message")


async def _drop_channel(layer, channel: str) -> None:
    """Let the layer forget the probe's channel.

    Channels has no call for it: a layer drops a channel when a receive on it
    is cancelled. Otherwise the Redis pub/sub layer kept every probe's channel
    subscribed (and a queue for it), one more per probe for the process's life.
    """
    waiting = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0)  # into the wait for a message
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting


READINESS_CHECKS = {"database": _check_database, "channel_layer": _check_channel_layer}
_MAX_ERROR_CHARS = 300


def _one_line(error: Exception) -> str:
    """``Class: message`` on one short line, secrets masked here already.

    Masked here, not only by the handler's filter: any handler (a test's, a
    third party's) gets the line as it is. libpq's messages span lines.
    """
    # Masked before cutting: a cut could leave half a secret no pattern knows.
    text = redact(" ".join(str(error).split()))
    if len(text) > _MAX_ERROR_CHARS:
        text = text[: _MAX_ERROR_CHARS - 1] + "…"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@login_not_required
@never_cache
async def readyz(request: HttpRequest) -> JsonResponse:
    """The database and the channel layer answer; 503 names what does not.

    The answer says which part failed and the error's class, never its text
    (which could hold a host name or a password from a connection string);
    the log gets one line with the text, secrets masked. Not the traceback: a
    load balancer probes every few seconds, and each failure wrote dozens of
    lines for as long as the database was down.
    """
    checks: dict[str, str] = {}
    for name, check in READINESS_CHECKS.items():
        try:
            await check()
        except Exception as error:  # any failure means "not ready"
            error_type = type(error).__name__
            logger.warning(
                "readiness check %s failed: %s",
                name,
                _one_line(error),
                extra={"check": name, "error_type": error_type},
            )
            checks[name] = f"error: {error_type}"
        else:
            checks[name] = "ok"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


PROBES = {"/healthz": healthz, "/healthz/": healthz, "/readyz": readyz, "/readyz/": readyz}


class SyncAndAsyncMiddleware:
    """Runs in whichever mode the stack around it runs, without a thread hop."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)


class HealthCheckMiddleware(SyncAndAsyncMiddleware):
    """Answer the probes before host validation, HTTPS redirects, sessions and login.

    A container's HEALTHCHECK or a load balancer asks the process directly,
    over plain HTTP, with whatever Host header it likes.
    """

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in {"GET", "HEAD"}:
            return async_to_sync(probe)(request)
        return self.get_response(request)

    async def __acall__(self, request):
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in {"GET", "HEAD"}:
            return await probe(request)
        return await self.get_response(request)


# ---------------------------------------------------------------------------
# Request ids


_STATIC_PREFIX = "/static/"


class RequestIdMiddleware(SyncAndAsyncMiddleware):
    """Give each request an id (``X-Request-ID`` in, or a new one) and log it once done."""

    def _begin(self, request):
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        return request_id, request_id_var.set(request_id), time.monotonic()

    def _end(self, request, response, started: float) -> None:
        response[REQUEST_ID_HEADER] = request.request_id
        # Probes and static files are frequent and dull: only at DEBUG.
        dull = request.path_info in PROBES or request.path_info.startswith(_STATIC_PREFIX)
        level = logging.DEBUG if dull else logging.INFO
        # The URL pattern, not the path: paths can carry ids and share tokens.
        match = getattr(request, "resolver_match", None)
        where = {"route": match.route} if match is not None else {"path": request.path}
        logger.log(
            level,
            "request",
            extra={
                "method": request.method,
                **where,
                "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        _, token, started = self._begin(request)
        try:
            response = self.get_response(request)
            self._end(request, response, started)
            return response
        finally:
            request_id_var.reset(token)

    async def __acall__(self, request):
        _, token, started = self._begin(request)
        try:
            response = await self.get_response(request)
            self._end(request, response, started)
            return response
        finally:
            request_id_var.reset(token)


class WebsocketRequestId:
    """ASGI wrapper: a websocket connection's log lines (and the generation
    tasks it starts) carry one id, from its ``X-Request-ID`` header or new."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        header = dict(scope.get("headers") or []).get(b"x-request-id", b"")
        request_id = request_id_from(header.decode("latin1"))
        scope = {**scope, "request_id": request_id}
        token = request_id_var.set(request_id)
        started = time.monotonic()
        outcome = {"accepted": False, "close_code": None}

        async def watching_send(message):
            if message["type"] == "websocket.accept":
                outcome["accepted"] = True
            elif message["type"] == "websocket.close":
                outcome["close_code"] = message.get("code", 1000)
            await send(message)

        try:
            return await self.app(scope, receive, watching_send)
        finally:
            logger.info(
                "websocket",
                extra={
                    "path": _UUID.sub("<uuid>", scope.get("path", "")),
                    "accepted": outcome["accepted"],
                    "close_code": outcome["close_code"],
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
            request_id_var.reset(token)


@requires_csrf_token
def server_error(request, template_name: str = "500.html"):
    """The 500 page: plain, with the request id to quote, and nothing else."""
    template = loader.get_template(template_name)
    request_id = getattr(request, "request_id", None) or current_request_id()
    return HttpResponseServerError(template.render({"request_id": request_id}))


# ---------------------------------------------------------------------------
# Logging


def configure_logging(config: dict) -> None:
    """``LOGGING_CONFIG``: Django's dictConfig, with Python's warnings logged too.

    Django no longer routes warnings to logging: a RuntimeWarning (or
    WhiteNoise's UserWarning) came out as plain text in the JSON stream, unredacted.
    """
    logging.config.dictConfig(config)
    logging.captureWarnings(True)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id()
        return True


_SECRET_PATTERNS = [
    # Authorization headers and the like.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 [redacted]"),
    # OpenAI-style keys: sk-..., sk-proj-..., sk-or-v1-...
    (re.compile(r"\bsk-[A-Za-z0-9_-]{6,}"), "sk-[redacted]"),
    # Credentials inside a URL: scheme://user:password@host, and
    # redis://:password@host (Redis without an ACL user name).
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@"), r"\1[redacted]@"),
    # key=value / "api_key": "value" pairs.
    (
        re.compile(
            r"(?i)\b((?:api[_-]?key|access[_-]?token|secret[_-]?key|password|authorization)"
            r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&}]+"
        ),
        r"\1[redacted]",
    ),
]
# Environment variables whose values are secrets (by the end of their upper-cased
# name): masked wherever they appear.
_SECRET_ENV_ENDINGS = ("KEY", "SECRET", "TOKEN", "PASSWORD")
# Extra fields that must never reach a log line, whatever their value.
_SECRET_FIELDS = re.compile(
    r"(?i)(^|_)(api_?key|key|secret|password|passwd|authorization|cookie|token|credentials?)$"
)
_CONTENT_FIELDS = {"content", "text", "prompt", "messages", "reasoning", "body"}


def _secret_env_values() -> list[str]:
    """Read afresh for every record: a key set after start-up is masked too.

    Names first, values only of the secret ones: decoding every value and a
    regular expression per name made logging a line cost 0.3 ms of CPU.
    """
    environ = os.environ
    values = {
        value
        for name in environ
        if name.upper().endswith(_SECRET_ENV_ENDINGS) and len(value := environ.get(name, "")) >= 8
    }
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    for value in _secret_env_values() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, "[redacted]")
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Mask API keys and bearer tokens in a record's message and string extras.

    A safety net: the code logs no keys on purpose. Formatters redact the
    finished line again (tracebacks included).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = _secret_env_values()
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logged as is
            message = str(record.msg)
        record.msg, record.args = redact(message, secrets), None
        for name, value in list(vars(record).items()):
            if name in _STANDARD_ATTRIBUTES:
                continue
            if _SECRET_FIELDS.search(name) and name != "request_id":
                setattr(record, name, "[redacted]")
            elif isinstance(value, str):
                setattr(record, name, redact(value, secrets))
        return True


_STANDARD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
}


def _jsonable(name: str, value):
    if name == "request" and isinstance(value, HttpRequest):
        return {"method": value.method, "path": value.path}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple) and all(
        isinstance(item, str | int | float | bool) or item is None for item in value
    ):
        return list(value)
    return repr(value)[:200]


def _redacted(value, secrets: list[str]):
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, list):
        return [_redacted(item, secrets) for item in value]
    if isinstance(value, dict):
        return {key: _redacted(item, secrets) for key, item in value.items()}
    return value


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        # Values are masked before encoding, not the encoded line: there a
        # quoted value is escaped (\"), which the patterns cut in two,
        # leaving the secret and a line that is no longer JSON.
        secrets = _secret_env_values()
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        for name, value in vars(record).items():
            if name in _STANDARD_ATTRIBUTES or name in entry:
                continue
            if name in _CONTENT_FIELDS:
                continue  # message text never goes to the log
            if _SECRET_FIELDS.search(name):
                entry[name] = "[redacted]"
                continue
            entry[name] = _jsonable(name, value)
        if record.exc_info:
            entry["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            entry["exc"] = "".join(traceback.format_exception(*record.exc_info))
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(_redacted(entry, secrets), ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The development format, redacted like the JSON one."""

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return redact(super().format(record))
