"""A page under production-like settings carries the CSP and the security headers."""

import re

import pytest
from channels.testing import WebsocketCommunicator

pytestmark = pytest.mark.django_db

HOST = "chat.example.com"


@pytest.fixture
def production_settings(settings):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [HOST]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    return settings


def get_login_page(client):
    return client.get("/accounts/login/", headers={"host": HOST, "x-forwarded-proto": "https"})


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def test_the_login_page_carries_csp_and_security_headers(client, alice, production_settings):
    response = get_login_page(client)
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])

    # Scripts: our origin plus this response's nonce; never inline or eval.
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert policy["script-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert policy["style-src"] == ["'self'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["connect-src"][0] == "'self'"

    # Every script tag on the page carries that nonce (htmx, its ws extension, ours).
    html = response.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert len(scripts) >= 3
    assert all(f'nonce="{nonce}"' in tag for tag in scripts), scripts
    # No inline script bodies and no inline event handlers or style attributes.
    assert not re.search(r"<script\b(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son[a-z]+=", html)
    assert " style=" not in html
    # htmx is told not to inject styles or evaluate strings.
    assert '"includeIndicatorStyles": false' in html and '"allowEval": false' in html

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response.cookies["csrftoken"]["secure"]


def test_each_response_gets_its_own_nonce(client, alice, production_settings):
    first = get_login_page(client)["Content-Security-Policy"]
    second = get_login_page(client)["Content-Security-Policy"]
    assert first != second


def test_plain_http_is_redirected_to_https(client, alice, production_settings):
    response = client.get("/accounts/login/", headers={"host": HOST})
    assert response.status_code == 301
    assert response["Location"] == f"https://{HOST}/accounts/login/"


def test_an_unknown_host_is_refused(client, alice, production_settings):
    response = client.get(
        "/accounts/login/", headers={"host": "evil.example", "x-forwarded-proto": "https"}
    )
    assert response.status_code == 400


def test_session_cookie_is_secure_after_login(client, alice, production_settings):
    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": "alice-pw-123"},
        headers={"host": HOST, "x-forwarded-proto": "https"},
    )
    assert response.status_code == 302
    assert response.cookies["sessionid"]["secure"]
    assert response.cookies["sessionid"]["httponly"]


@pytest.mark.django_db(transaction=True)
async def test_websocket_origin_is_checked_against_allowed_hosts():
    from chatapp.asgi import application

    path = "/ws/conversations/00000000-0000-4000-8000-000000000000/"
    foreign = WebsocketCommunicator(
        application, path, headers=[(b"origin", b"https://evil.example")]
    )
    connected, code = await foreign.connect()
    assert not connected
    assert code != 4401  # refused by the origin check, before authentication
    await foreign.disconnect()

    no_origin = WebsocketCommunicator(application, path)
    connected, code = await no_origin.connect()
    assert not connected and code != 4401
    await no_origin.disconnect()

    ours = WebsocketCommunicator(application, path, headers=[(b"origin", b"http://localhost")])
    connected, code = await ours.connect()
    assert not connected
    assert code == 4401  # past the origin check: refused only as an anonymous user
    await ours.disconnect()
