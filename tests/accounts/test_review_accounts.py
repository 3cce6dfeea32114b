"""Review of logins: where ``next`` can send a member, who stays logged in, and the throttle."""

import uuid

import pytest
from django.contrib.sessions.backends.db import SessionStore

from chatapp.accounts.middleware import SocketLogin, _session_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def throttle(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{uuid.uuid4().hex}",
        }
    }
    settings.LOGIN_FAILURES_ALLOWED = 3
    settings.LOGIN_LOCKOUT_SECONDS = 600
    return settings


def log_in(client, password, username="alice", address="203.0.113.5", **extra):
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password, **extra},
        REMOTE_ADDR=address,
    )


# Checked and holding (Django's url_has_allowed_host_and_scheme); kept as a guard.
ELSEWHERE = [
    "//evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "https:evil.com",
    "https://evil.com",
    "http:/\\/\\evil.com",
    " //evil.com",
    "\t//evil.com",
    "javascript:alert(1)",
    "///evil.com",
]


@pytest.mark.parametrize("target", ELSEWHERE)
def test_login_never_sends_a_member_to_another_site(client, alice, target):
    response = log_in(client, "alice-pw-123", next=target)
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize("target", ELSEWHERE)
def test_logout_never_sends_a_member_to_another_site(client, alice, target):
    client.force_login(alice)
    response = client.post("/accounts/logout/", {"next": target})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"


def test_logout_by_get_does_nothing(client, alice):
    client.force_login(alice)
    assert client.get("/accounts/logout/").status_code == 405
    assert "_auth_user_id" in client.session


def test_login_needs_the_csrf_token(alice):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    assert log_in(client, "alice-pw-123").status_code == 403


def test_a_deactivated_member_is_logged_out_of_pages_and_sockets(client, alice):
    client.force_login(alice)
    key = client.session.session_key
    login = SocketLogin(alice.pk, key)
    alice.is_active = False
    alice.save()
    assert client.get("/")["Location"].startswith("/accounts/login/")
    assert not login.still_valid()
    assert not _session_user(SessionStore(key)).is_authenticated


def test_one_address_cannot_try_a_password_on_every_member(
    client, alice, bob, charlie, django_user_model, throttle
):
    """Password spraying: a few guesses at each of many names, from one address."""
    names = [f"member{n}" for n in range(12)]
    for name in names:
        django_user_model.objects.create_user(name, password=f"{name}-pw-123")
    refused = 0
    for name in names:
        for guess in ("Summer2026!", "Password1!"):
            refused += log_in(client, guess, username=name).status_code == 429
    assert refused, "24 wrong passwords on 12 members from one address, none refused"

    # Now even a right password from that address waits...
    assert log_in(client, "charlie-pw-1", username="charlie").status_code == 429
    # ...but not from elsewhere.
    assert log_in(client, "charlie-pw-1", "charlie", address="198.51.100.7").status_code == 302


def test_a_few_typos_by_the_team_behind_one_address_do_not_lock_it(
    client, alice, bob, charlie, throttle
):
    for name in ("alice", "bob", "charlie"):
        for _ in range(2):
            assert log_in(client, "typo", username=name).status_code == 200
    assert log_in(client, "bob-pw-123", username="bob").status_code == 302


def test_new_ipv6_addresses_from_the_same_network_are_one_address(client, alice, throttle):
    """Every home connection has a /64 of its own: 2^64 addresses, 3 tries each."""
    statuses = [
        log_in(client, f"wrong-{n}", address=f"2001:db8:1:2::{n + 1:x}").status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 429, 429]
    assert log_in(client, "alice-pw-123", address="2001:db8:1:2::99").status_code == 429
    # Another network is another address.
    assert log_in(client, "alice-pw-123", address="2001:db8:1:3::1").status_code == 302


def test_clients_without_an_address_are_not_locked_out_together(
    client, alice, django_user_model, throttle
):
    """No REMOTE_ADDR (a unix socket) reads as "unknown": that is everyone, not one client."""
    for n in range(12):
        log_in(client, "wrong", username=f"nobody{n}", address="")
        log_in(client, "wrong", username=f"nobody{n}", address="")
    assert log_in(client, "alice-pw-123", address="").status_code == 302
