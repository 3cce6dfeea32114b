"""The image's HEALTHCHECK asks the app itself, whatever proxy the app's
outbound requests are told to use."""

import http.server
import socket
import subprocess
import sys
import threading

import pytest

from .conftest import dockerfile_healthcheck


class Healthz(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        status = 200 if self.path == "/healthz" else 404
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def app_port():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Healthz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_healthcheck(port: int, **env: str) -> subprocess.CompletedProcess:
    command = dockerfile_healthcheck()
    command = [sys.executable if command[0] == "python" else command[0], *command[1:]]
    command[-1] = command[-1].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    return subprocess.run(command, capture_output=True, text=True, timeout=30, env=env)


def test_the_healthcheck_passes_when_the_app_answers(app_port):
    assert run_healthcheck(app_port).returncode == 0


def test_the_healthcheck_ignores_an_outbound_http_proxy(app_port):
    # HTTP_PROXY / HTTPS_PROXY route the gateway requests through a company
    # proxy (httpx honours them). urllib honoured them too: the probe of
    # 127.0.0.1 went to the proxy, failed, and the container was "unhealthy".
    proxy = f"http://127.0.0.1:{closed_port()}"
    result = run_healthcheck(app_port, HTTP_PROXY=proxy, http_proxy=proxy, HTTPS_PROXY=proxy)
    assert result.returncode == 0, result.stderr


def test_the_healthcheck_fails_when_nothing_answers():
    assert run_healthcheck(closed_port()).returncode != 0
