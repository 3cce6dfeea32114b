"""/readyz failing while a load balancer probes it every few seconds: one short
log line per probe, saying what failed and why, with no secrets and no traceback."""

import logging

import pytest
from django.db import OperationalError, connection

from chatapp import observability

pytestmark = pytest.mark.django_db

PG_PASSWORD = "pg-env-password-0123456789"
# libpq's message spans lines; this one also carries a password twice over.
REFUSED = (
    'connection to server at "db" (172.18.0.2), port 5432 failed: Connection refused\n'
    "\tIs the server running on that host and accepting TCP/IP connections?\n"
    f"dsn postgres://chatapp:hunter2@db:5432/chatapp password={PG_PASSWORD}"
)


def readiness_lines(caplog) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "chatapp.request" and record.getMessage().startswith("readiness")
    ]


def test_each_failed_probe_logs_one_line_without_traceback_or_secrets(client, caplog, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", PG_PASSWORD)

    def refuse(*args, **kwargs):
        raise OperationalError(REFUSED)

    monkeypatch.setattr(connection, "cursor", refuse)
    caplog.set_level(logging.DEBUG)

    for _ in range(3):
        response = client.get("/readyz")
        # The answer is what it always was: the part and the class, nothing more.
        assert response.status_code == 503
        assert response.json() == {
            "status": "unavailable",
            "checks": {"database": "error: OperationalError", "channel_layer": "ok"},
        }

    lines = readiness_lines(caplog)
    assert len(lines) == 3, "one line per failed probe"
    for record in lines:
        assert record.levelno == logging.WARNING
        message = record.getMessage()
        assert "\n" not in message
        assert "database" in message and "OperationalError" in message
        assert "Connection refused" in message, "the operator learns why"
        assert "hunter2" not in message and PG_PASSWORD not in message
        assert record.exc_info is None
    assert "Traceback" not in caplog.text
    assert "hunter2" not in caplog.text and PG_PASSWORD not in caplog.text


def test_a_silent_channel_layer_is_named_in_its_one_line(client, caplog, monkeypatch):
    async def silent():
        raise TimeoutError  # asyncio.wait_for's, with no message of its own

    monkeypatch.setitem(observability.READINESS_CHECKS, "channel_layer", silent)
    caplog.set_level(logging.DEBUG)

    response = client.get("/readyz")

    assert response.json()["checks"] == {"database": "ok", "channel_layer": "error: TimeoutError"}
    (record,) = readiness_lines(caplog)
    assert record.getMessage() == "readiness check channel_layer failed: TimeoutError"
    assert record.exc_info is None
    assert "Traceback" not in caplog.text
