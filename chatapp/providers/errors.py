"""One error type for everything a gateway can do wrong, with a sentence a person understands."""

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# 520-523: Cloudflare could not reach the gateway behind it; 529: overloaded.
RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 521, 522, 523, 529})
# Codes gateways put in error objects for failures that may pass by themselves.
RETRYABLE_CODES = frozenset(
    {"server_error", "service_unavailable", "rate_limit_error", "overloaded_error", "timeout"}
)
# OpenAI answers an empty account with 429 and this code: waiting does not help.
OUT_OF_CREDITS_CODES = frozenset({"insufficient_quota", "insufficient_credits"})
UNSUPPORTED_CODES = frozenset({"unsupported_parameter", "unsupported_value"})

_QUOTED_NAME = re.compile(r"'([^']{1,80})'")


@dataclass
class ProviderError(Exception):
    """A failed completion.

    ``message`` is safe to show to a user: it never holds the API key, a
    stack trace or the raw body (which could echo the key back).
    """

    message: str
    status: int | None = None
    code: str | None = None
    param: str | None = None
    retryable: bool = False
    retry_after: float | None = None

    def __str__(self) -> str:
        return self.message


def error_from_response(
    status: int, body: bytes, headers: dict[str, str], provider: str, *, secret: str = ""
) -> ProviderError:
    """Turn a non-2xx answer into a ProviderError, reading OpenAI-style bodies defensively.

    ``secret`` (the key sent) is masked in the gateway's own words.
    """
    detail, code, param = _parse_error_body(body)
    retry_after = parse_retry_after(headers.get("retry-after"))
    retryable = status in RETRYABLE_STATUSES
    if status == 400:
        # A ``param`` names what was wrong, not that it is unsupported: OpenAI names
        # ``messages`` when the conversation outgrew the model.
        unsupported = code in UNSUPPORTED_CODES or "unsupported" in detail.lower()
        param = param or _unsupported_name(detail, code)
        if code == "context_length_exceeded" or "maximum context length" in detail.lower():
            message = (
                f"{provider} rejected the request: the conversation is too long for this "
                "model. Start a new conversation, or pick a model with a larger context."
            )
        elif param and code == "unsupported_value":
            message = f"{provider} rejected the request: the value of '{param}' is not supported."
        elif param and unsupported:
            message = f"{provider} rejected the request: the parameter '{param}' is not supported."
        elif param:
            message = f"{provider} rejected the request: the value of '{param}' is not valid."
        else:
            message = f"{provider} rejected the request as invalid."
    elif status == 401:
        message = (
            f"{provider} rejected the API key. An administrator needs to check the key "
            f"configured for {provider}."
        )
    elif status == 403:
        message = (
            f"{provider} refused access with this API key. An administrator needs to check "
            f"what the key configured for {provider} is allowed to use."
        )
    elif status == 402 or code in OUT_OF_CREDITS_CODES:
        message = (
            f"{provider} reports that the account is out of credits. An administrator "
            "needs to top it up."
        )
        retryable = False
    elif status == 404:
        message = f"{provider} does not know this model (or the endpoint is wrong)."
    elif status == 413:
        message = f"The request was too large for {provider}. Try fewer or smaller images."
    elif status == 429:
        wait = f" Try again in {retry_after:g} s." if retry_after else " Try again shortly."
        message = f"{provider} is rate limiting requests.{wait}"
    elif status >= 500:
        message = f"{provider} had a server error ({status}). Try again in a moment."
    else:
        message = f"{provider} answered with an unexpected status {status}."
    # The gateway's own words help with these two; the others say all there is.
    if detail and status in (400, 404):
        message = f"{message} ({_gateway_words(detail, secret)})"
    return ProviderError(
        message=message,
        status=status,
        code=code,
        param=param,
        retryable=retryable,
        retry_after=retry_after,
    )


def error_from_stream_event(payload: dict, provider: str, *, secret: str = "") -> ProviderError:
    """An error object a gateway sent as a data event after the stream started.

    OpenRouter puts an HTTP-like number in ``code``; others a string. Either
    decides whether a retry could help (the client only retries while nothing
    has reached the caller).
    """
    detail, code, _ = _parse_error_body(json.dumps(payload).encode())
    # Only a plain HTTP-like number ("²" and 5,000 digits are digits too).
    status = int(code) if code and code.isascii() and code.isdigit() and len(code) == 3 else None
    text = f": {_gateway_words(detail, secret)}" if detail else "."
    return ProviderError(
        message=f"{provider} reported an error during the answer{text}",
        status=status,
        code=code,
        retryable=status in RETRYABLE_STATUSES or code in RETRYABLE_CODES,
    )


def _parse_error_body(body: bytes) -> tuple[str, str | None, str | None]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # the latter for absurdly nested JSON
        return "", None, None
    error = data.get("error", data) if isinstance(data, dict) else None
    if isinstance(error, str):
        return error, None, None
    if not isinstance(error, dict):
        return "", None, None
    detail = error.get("message")
    code = error.get("code") or error.get("type")
    param = error.get("param")
    return (
        detail if isinstance(detail, str) else "",
        str(code) if code is not None else None,
        param if isinstance(param, str) else None,
    )


def _unsupported_name(detail: str, code: str | None) -> str | None:
    """The parameter a gateway names in its sentence when it leaves ``param`` empty."""
    if code not in UNSUPPORTED_CODES and "unsupported" not in detail.lower():
        return None
    match = _QUOTED_NAME.search(detail)
    return match.group(1) if match else None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: a number or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
        return max(seconds, 0.0)
    # float() also reads "inf" and "1e999"; no wait the person could be told.
    return seconds if 0 <= seconds < math.inf else None


# Keys a gateway may echo in its words: OpenAI-style keys and bearer tokens.
_KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9_-]{6,}|(?i:\bbearer\s+)[A-Za-z0-9._~+/=-]{6,}")


def _gateway_words(detail: str, secret: str) -> str:
    """A gateway's error text, fit to show a member: keys masked first, then shortened.

    Shortened first, a key cut at the limit no longer matched the mask, and
    most of it reached the page.
    """
    if secret:
        detail = detail.replace(secret, "[redacted]")
    return _shorten(_KEY_LIKE.sub("[redacted]", detail))


def _shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
