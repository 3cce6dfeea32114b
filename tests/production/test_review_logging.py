"""Everything the process writes to stderr in production is a JSON line."""

import json
import subprocess
import sys

from .conftest import ROOT, production_env

WARN = (
    "import django; django.setup(); import warnings; "
    "warnings.warn('DateTimeField received a naive datetime, key sk-live-0123456789abcdef', "
    "RuntimeWarning)"
)


def test_a_python_warning_is_a_json_line_and_redacted():
    # Django no longer routes warnings to logging: a RuntimeWarning or
    # UserWarning (WhiteNoise's "No directory at") came out as two lines of
    # plain text in the JSON stream, unredacted.
    result = subprocess.run(
        [sys.executable, "-c", WARN],
        cwd=ROOT,
        env=production_env(LOG_FORMAT="json"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines
    entries = [json.loads(line) for line in lines]  # fails on a plain-text line
    (entry,) = [entry for entry in entries if entry["logger"] == "py.warnings"]
    assert entry["level"] == "WARNING"
    assert "naive datetime" in entry["message"]
    assert "sk-live-0123456789abcdef" not in result.stderr
