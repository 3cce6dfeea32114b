"""One error type for everything a gateway can do wrong, with a sentence a person understands."""

import json
from dataclasses import dataclass

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


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
    status: int, body: bytes, headers: dict[str, str], provider: str
) -> ProviderError:
    """Turn a non-2xx answer into a ProviderError, reading OpenAI-style bodies defensively."""
    detail, code, param = _parse_error_body(body)
    retry_after = _parse_retry_after(headers.get("retry-after"))
    if status == 400 and param:
        message = f"{provider} rejected the request: the parameter '{param}' is not supported."
    elif status == 400:
        message = f"{provider} rejected the request as invalid."
    elif status in (401, 403):
        message = (
            f"{provider} rejected the API key. An administrator needs to check the key "
            f"configured for {provider}."
        )
    elif status == 402:
        message = f"{provider} reports that the account is out of credits."
    elif status == 404:
        message = f"{provider} does not know this model (or the endpoint is wrong)."
    elif status == 429:
        wait = f" Try again in {retry_after:g} s." if retry_after else " Try again shortly."
        message = f"{provider} is rate limiting requests.{wait}"
    elif status >= 500:
        message = f"{provider} had a server error ({status}). Try again in a moment."
    else:
        message = f"{provider} answered with an unexpected status {status}."
    if detail and status in (400, 404):
        message = f"{message} ({_shorten(detail)})"
    return ProviderError(
        message=message,
        status=status,
        code=code,
        param=param,
        retryable=status in RETRYABLE_STATUSES,
        retry_after=retry_after,
    )


def error_from_stream_event(payload: dict, provider: str) -> ProviderError:
    """An error object a gateway sent as a data event after the stream started."""
    detail, code, _ = _parse_error_body(json.dumps(payload).encode())
    text = f": {_shorten(detail)}" if detail else "."
    return ProviderError(
        message=f"{provider} reported an error during the answer{text}",
        code=code,
        retryable=False,
    )


def _parse_error_body(body: bytes) -> tuple[str, str | None, str | None]:
    try:
        data = json.loads(body)
    except ValueError:
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


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
