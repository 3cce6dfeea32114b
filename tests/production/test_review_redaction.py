"""Secrets inside exception text stay out of JSON log lines, and every line stays JSON."""

import json
import logging
import sys

from chatapp.observability import JsonFormatter, RedactSecretsFilter, RequestIdFilter, TextFormatter

PASSWORD = "Hunter2-db-pw"


def _record_of(error: Exception) -> logging.LogRecord:
    try:
        raise error
    except Exception:
        record = logging.LogRecord(
            "chatapp", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    RequestIdFilter().filter(record)
    RedactSecretsFilter().filter(record)
    return record


def test_a_quoted_password_in_an_exception_is_masked_and_the_line_stays_json():
    # Masking the encoded line cut a JSON-escaped value in two: the line no
    # longer parsed (a log pipeline keeps such a line raw) and the password stayed.
    for text in (
        f'auth failed: password="{PASSWORD}"',
        f'gateway said {{"password": "{PASSWORD}", "api_key": "{PASSWORD}"}}',
    ):
        line = JsonFormatter().format(_record_of(RuntimeError(text)))
        entry = json.loads(line)
        assert entry["exc_type"] == "RuntimeError"
        assert PASSWORD not in line, line


def test_a_url_password_without_a_user_name_is_masked():
    # redis://:password@host is how Redis passwords are usually written (no ACL user).
    error = ConnectionError(f"cannot reach rediss://:{PASSWORD}@cache.internal:6380/0")
    record = _record_of(error)
    line = JsonFormatter().format(record)
    assert PASSWORD not in line
    assert "rediss://:[redacted]@cache.internal:6380/0" in json.loads(line)["exc"]
    assert PASSWORD not in TextFormatter("%(message)s").format(
        logging.LogRecord("x", logging.INFO, __file__, 1, f"redis://:{PASSWORD}@h/0", None, None)
    )
