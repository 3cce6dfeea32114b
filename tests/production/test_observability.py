"""Health probes, request ids, JSON logs without secrets, a 500 page that leaks nothing."""

import io
import json
import logging

import pytest
from django.db import OperationalError, connection
from django.test import override_settings
from django.urls import path

from chatapp import observability
from chatapp.observability import (
    JsonFormatter,
    RedactSecretsFilter,
    RequestIdFilter,
    TextFormatter,
    request_id_var,
)

pytestmark = pytest.mark.django_db

SECRET = "sk-live-abcdefghijklmnop1234567890"


def test_healthz_needs_no_login_no_database_and_no_known_host(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz", headers={"host": "10.1.2.3:8000"})
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_probes_skip_the_first_run_redirect_and_https_redirect(client, settings):
    """No user exists yet (first run) and the request is plain HTTP."""
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    # Everything else is redirected.
    assert client.get("/accounts/login/").status_code == 301


def test_readyz_checks_database_and_channel_layer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "channel_layer": "ok"},
    }


def test_readyz_is_503_naming_the_database_when_it_is_down(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("could not connect to server at db:5432, password=hunter2")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"] == {"database": "error: OperationalError", "channel_layer": "ok"}
    assert b"hunter2" not in response.content and b"db:5432" not in response.content


def test_readyz_is_503_naming_the_channel_layer_when_it_is_down(client, monkeypatch):
    async def broken():
        raise ConnectionError("redis is gone")

    monkeypatch.setitem(observability.READINESS_CHECKS, "channel_layer", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "channel_layer": "error: ConnectionError",
    }


def test_each_response_carries_a_request_id(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/accounts/login/")["X-Request-ID"]
    assert len(first) == 32 and len(second) == 32 and first != second


def test_a_request_id_from_the_proxy_is_kept_and_a_strange_one_replaced(client):
    kept = client.get("/healthz", headers={"x-request-id": "abc-123.proxy"})
    assert kept["X-Request-ID"] == "abc-123.proxy"
    replaced = client.get("/healthz", headers={"x-request-id": "bad id\nwith newline"})
    assert replaced["X-Request-ID"] != "bad id\nwith newline"
    assert len(replaced["X-Request-ID"]) == 32


@pytest.fixture
def json_log():
    """Capture the root logger's lines through the production formatter and filters."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactSecretsFilter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(previous_level)


def test_the_request_log_line_is_json_with_the_request_id(client, alice, json_log):
    client.force_login(alice)
    response = client.get("/", headers={"x-request-id": "req-42"})
    assert response["X-Request-ID"] == "req-42"
    lines = [line for line in json_log() if line["logger"] == "chatapp.request"]
    (line,) = [line for line in lines if line["message"] == "request"]
    assert line["request_id"] == "req-42"
    assert line["method"] == "GET"
    assert line["status"] == response.status_code
    assert line["route"] == ""  # the URL pattern, never the concrete path
    assert isinstance(line["duration_ms"], float)
    assert line["level"] == "INFO" and line["time"].endswith("+00:00")


def test_a_completion_line_has_its_numbers_and_no_text_or_keys(json_log, monkeypatch):
    monkeypatch.setenv("SOME_GATEWAY_API_KEY", "gw-key-0123456789")
    token = request_id_var.set("req-7")
    try:
        logging.getLogger("chatapp.chat.generation").info(
            "completion finished",
            extra={
                "provider": "AIgateway",
                "model": "openai/o4-mini",
                "status": "complete",
                "seconds": 4.2,
                "completion_tokens": 321,
                "content": "the user's private question",
                "api_key": SECRET,
            },
        )
        logging.getLogger("chatapp.providers").warning(
            "upstream said: Authorization: Bearer %s; key gw-key-0123456789", SECRET
        )
    finally:
        request_id_var.reset(token)
    completion, warning = json_log()
    assert completion["message"] == "completion finished"
    assert completion["request_id"] == "req-7"
    assert completion["provider"] == "AIgateway"
    assert completion["model"] == "openai/o4-mini"
    assert completion["status"] == "complete"
    assert completion["seconds"] == 4.2
    assert completion["completion_tokens"] == 321
    assert "content" not in completion  # message text never logged
    assert completion["api_key"] == "[redacted]"
    assert warning["request_id"] == "req-7"
    everything = json.dumps([completion, warning])
    assert SECRET not in everything
    assert "gw-key-0123456789" not in everything
    assert "sk-abcdef" not in everything
    assert warning["message"].startswith("upstream said: Authorization: [redacted]")


def test_tracebacks_are_redacted_too(json_log):
    try:
        raise RuntimeError(f"failed calling https://user:pa55word@gateway.example/v1 with {SECRET}")
    except RuntimeError:
        logging.getLogger("chatapp").exception("boom")
    (line,) = json_log()
    assert line["exc_type"] == "RuntimeError"
    assert "pa55word" not in line["exc"] and SECRET not in line["exc"]


def test_the_text_format_is_redacted_and_has_the_request_id():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "key %s", (SECRET,), None)
    RequestIdFilter().filter(record)
    formatter = TextFormatter("%(request_id)s %(message)s")
    assert formatter.format(record) == "- key sk-[redacted]"


def boom(request):
    raise RuntimeError(f"database password=hunter2 and key {SECRET}")


urlpatterns = [path("boom/", boom)]
handler500 = "chatapp.observability.server_error"


@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_the_500_page_leaks_nothing_but_the_request_id(client, alice):
    client.raise_request_exception = False
    client.force_login(alice)
    response = client.get("/boom/", headers={"x-request-id": "req-500"})
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert "req-500" in html
    assert "hunter2" not in html and SECRET not in html
    assert "RuntimeError" not in html and "Traceback" not in html


def test_the_404_page_is_ours_and_keeps_the_csp(client, alice, settings):
    settings.DEBUG = False
    client.force_login(alice)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Not found" in response.content.decode()
    assert "'nonce-" in response["Content-Security-Policy"]
