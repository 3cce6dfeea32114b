"""Helpers for the production tests: the environment a container runs with,
the Dockerfile's own start command, and an isolated cache per test."""

import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
BIN = Path(sys.executable).parent


def production_env(**extra: str) -> dict[str, str]:
    """This process's environment minus the app's own variables, plus production ones."""
    own = {
        "DEBUG",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "DATABASE_URL",
        "REDIS_URL",
        "STATIC_ROOT",
        "MEDIA_ROOT",
        "LOG_FORMAT",
        "BEHIND_TLS_PROXY",
    }
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in own and not key.startswith(("OPENAI_", "SECURE_", "CHAT_", "LOGIN_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="chatapp.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="chat.example.com",
        CSRF_TRUSTED_ORIGINS="https://chat.example.com",
        BEHIND_TLS_PROXY="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def python_in_production(code: str, **env: str) -> subprocess.CompletedProcess:
    """``code`` run by a new Python in the production environment (plus ``env``):
    settings are read once per process, so each variation needs its own."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=production_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _dockerfile_instructions(name: str) -> list[str]:
    """The arguments of every ``name`` instruction of the runtime stage (continuations joined)."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    runtime = text.split("AS runtime", 1)[1]
    return [
        line.strip()[len(name) :].strip()
        for line in runtime.splitlines()
        if line.strip().upper().startswith(name + " ")
    ]


def dockerfile_command() -> list[str]:
    """The container's start command, exactly as the Dockerfile's CMD says it."""
    (cmd,) = _dockerfile_instructions("CMD")
    return json.loads(cmd)


def dockerfile_env() -> dict[str, str]:
    """The runtime image's ENV (``$PATH``-style references left out)."""
    env: dict[str, str] = {}
    for instruction in _dockerfile_instructions("ENV"):
        for pair in shlex.split(instruction):
            key, _, value = pair.partition("=")
            if "$" not in value:
                env[key] = value
    return env


def dockerfile_healthcheck() -> list[str]:
    (healthcheck,) = _dockerfile_instructions("HEALTHCHECK")
    return json.loads(re.search(r"CMD\s+(\[.*\])", healthcheck).group(1))


@pytest.fixture
def isolated_cache(settings):
    """A fresh in-process cache for this test (never a shared Redis)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{uuid.uuid4().hex}",
        }
    }
    from django.core.cache import cache

    yield cache
    cache.clear()
