"""The app started as the container starts it: same command, same environment,
static files collected the same way. It must answer /readyz and serve a page
with its CSS.

Only the listening address differs: loopback and a free port instead of
0.0.0.0:8000. The requests carry what the reverse proxy adds (Host,
X-Forwarded-Proto, X-Forwarded-For).
"""

import json
import re
import secrets
import socket
import subprocess
import sys
import time

import httpx
import pytest

from .conftest import (
    BIN,
    ROOT,
    dockerfile_command,
    dockerfile_env,
    dockerfile_healthcheck,
    production_env,
)

HOST = "chat.example.com"
API_KEY = "sk-live-container-test-0123456789abcdef"
PASSWORD = "correct-horse-battery-9"
PROXY = {"host": HOST, "x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.10"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(env, *args):
    result = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


class Server:
    def __init__(self, tmp_path):
        self.port = free_port()
        self.log_path = tmp_path / "server.log"
        self.env = production_env(**dockerfile_env())
        self.env.update(
            # Paths and the database of this test instead of /app, /data and PostgreSQL.
            STATIC_ROOT=str(tmp_path / "staticfiles"),
            MEDIA_ROOT=str(tmp_path / "media"),
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
            ALLOWED_HOSTS=HOST,
            CSRF_TRUSTED_ORIGINS=f"https://{HOST}",
            SECRET_KEY=secrets.token_urlsafe(50),
            OPENAI_BASE_URL="http://127.0.0.1:9/v1",
            OPENAI_API_KEY=API_KEY,
            LOGIN_FAILURES_ALLOWED="2",
        )
        assert self.env["DEBUG"] == "0" and self.env["LOG_FORMAT"] == "json"

    def command(self) -> list[str]:
        command = dockerfile_command()
        assert command[:3] == ["python", "-m", "chatapp.serve"]
        command[0] = str(BIN / "python")
        command[command.index("-b") + 1] = "127.0.0.1"
        command[command.index("-p") + 1] = str(self.port)
        return command

    def start(self) -> "Server":
        # As the image build does it (a throwaway key only for that command).
        build_env = {**self.env, "SECRET_KEY": "collectstatic-only-not-a-real-key"}
        run(build_env, "manage.py", "collectstatic", "--noinput")
        # As the documented one-off command does it, before the replicas start.
        run(self.env, "manage.py", "migrate", "--noinput")
        run(
            {**self.env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD},
            "manage.py",
            "createsuperuser",
            "--noinput",
            "--username",
            "alice",
            "--email",
            "alice@example.com",
        )
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command(), cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "daphne exited:\n" + self.log()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError("daphne did not listen:\n" + self.log())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str, headers=None, **kwargs) -> httpx.Response:
        return httpx.get(
            f"http://127.0.0.1:{self.port}{path}", headers=headers or PROXY, timeout=10, **kwargs
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("container")).start()
    yield server
    server.stop()


def test_the_healthcheck_command_passes(server):
    command = dockerfile_healthcheck()
    command = [sys.executable if command[0] == "python" else command[0], *command[1:]]
    command[-1] = command[-1].replace("127.0.0.1:8000", f"127.0.0.1:{server.port}")
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_readyz_answers_200(server):
    # Probes come straight to the process: plain HTTP, its own address as Host.
    response = server.get("/readyz", headers={"host": f"127.0.0.1:{server.port}"})
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "channel_layer": "ok"}


def test_the_login_page_serves_with_its_css_and_headers(server):
    page = server.get("/accounts/login/")
    assert page.status_code == 200, page.text[:500]
    assert "Log in" in page.text
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    assert f"wss://{HOST}" in page.headers["content-security-policy"]
    assert page.headers["strict-transport-security"].startswith("max-age=31536000")
    assert page.headers["x-content-type-options"] == "nosniff"

    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text)
    assert stylesheets, page.text[:1000]
    for href in stylesheets:
        # Collected, hashed names (ManifestStaticFilesStorage) served by WhiteNoise.
        assert re.search(r"\.[0-9a-f]{12}\.css$", href), href
        css = server.get(href)
        assert css.status_code == 200, href
        assert css.headers["content-type"].startswith("text/css")
        assert "immutable" in css.headers.get("cache-control", "")
        assert len(css.content) > 100
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    assert scripts
    for src in scripts:
        assert server.get(src).status_code == 200, src


def test_plain_http_is_sent_to_https(server):
    response = server.get("/accounts/login/", headers={"host": HOST})
    assert response.status_code == 301
    assert response.headers["location"] == f"https://{HOST}/accounts/login/"


def test_an_unknown_host_is_refused(server):
    response = server.get("/accounts/login/", headers={**PROXY, "host": "evil.example"})
    assert response.status_code == 400


def _login_attempt(server, password: str, client_address: str) -> httpx.Response:
    headers = {**PROXY, "x-forwarded-for": client_address}
    page = server.get("/accounts/login/", headers=headers)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    cookie = page.cookies["csrftoken"]
    return httpx.post(
        f"http://127.0.0.1:{server.port}/accounts/login/",
        headers={
            **headers,
            "cookie": f"csrftoken={cookie}",
            "origin": f"https://{HOST}",
            "referer": f"https://{HOST}/accounts/login/",
        },
        data={"csrfmiddlewaretoken": token, "username": "alice", "password": password},
        timeout=10,
    )


def test_logins_are_throttled_per_client_address_from_the_proxy(server):
    assert _login_attempt(server, "wrong-1", "198.51.100.1").status_code == 200
    locked = _login_attempt(server, "wrong-2", "198.51.100.1")
    assert locked.status_code == 429
    assert "Retry-After" in locked.headers
    # The proxy's X-Forwarded-For is the client address: another client may log in.
    welcome = _login_attempt(server, PASSWORD, "198.51.100.2")
    assert welcome.status_code == 302
    assert "secure" in welcome.headers["set-cookie"].lower()


def test_logs_are_json_lines_with_request_ids_and_no_secrets(server):
    response = server.get("/accounts/login/", headers={**PROXY, "x-request-id": "trace-me-42"})
    assert response.headers["x-request-id"] == "trace-me-42"
    time.sleep(0.3)
    log = server.log()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert lines, log
    non_json = [line for line in log.splitlines() if line.strip() and not line.startswith("{")]
    assert not non_json, non_json
    (line,) = [line for line in lines if line.get("request_id") == "trace-me-42"]
    assert line["message"] == "request"
    assert line["status"] == 200
    assert line["route"] == "accounts/login/"
    assert API_KEY not in log
    assert server.env["SECRET_KEY"] not in log
    assert PASSWORD not in log
    # Nor in any page.
    assert API_KEY not in response.text
