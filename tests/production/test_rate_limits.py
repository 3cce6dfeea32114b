"""Login throttling (per username and address) and the per-member send rate limit."""

import asyncio
import time
from types import SimpleNamespace

import pytest

from chatapp import ratelimit
from chatapp.ratelimit import allow_send

pytestmark = pytest.mark.django_db

T0 = 1_800_000_000.0  # a minute boundary (divisible by 60)


# --- sends ----------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def send_counters(request, settings):
    """Sends counted in process memory (one process) and in Redis (every process)."""
    if request.param == "memory":
        yield request.getfixturevalue("isolated_cache")
        return
    request.getfixturevalue("redis_cache")
    yield ratelimit.counters()


def test_sends_within_the_limit_are_allowed_and_the_next_one_waits(send_counters, settings):
    settings.CHAT_SENDS_PER_MINUTE = 5
    for second in range(5):
        assert allow_send(7, now=T0 + 10 + second) == (True, 0.0)
    allowed, retry_after = allow_send(7, now=T0 + 15)
    assert not allowed
    # Five sends in this window: the sixth fits once a fifth of the next window
    # has passed (5 x 4/5 + 1 = 5), i.e. at T0 + 72.
    assert 57 <= retry_after <= 57.3
    assert (allow_send(7, now=T0 + 15 + retry_after - 1))[0] is False
    assert (allow_send(7, now=T0 + 15 + retry_after))[0] is True


def test_the_limit_is_per_member(send_counters, settings):
    settings.CHAT_SENDS_PER_MINUTE = 2
    assert (allow_send(1, now=T0))[0]
    assert (allow_send(1, now=T0 + 1))[0]
    assert not (allow_send(1, now=T0 + 2))[0]
    assert (allow_send(2, now=T0 + 2))[0]


def test_refused_sends_do_not_count(send_counters, settings):
    settings.CHAT_SENDS_PER_MINUTE = 2
    allow_send(3, now=T0)
    allow_send(3, now=T0 + 1)
    for _ in range(10):
        assert not (allow_send(3, now=T0 + 2))[0]
    # Two minutes on, the window is clean: hammering did not extend the wait.
    assert (allow_send(3, now=T0 + 121))[0]


def test_the_window_slides(send_counters, settings):
    """A burst at the end of one minute still counts at the start of the next."""
    settings.CHAT_SENDS_PER_MINUTE = 4
    for offset in (56, 57, 58, 59):
        assert (allow_send(4, now=T0 + offset))[0]
    allowed, retry_after = allow_send(4, now=T0 + 61)
    assert not allowed
    # 4 x (1 - t/60) + 1 <= 4 once t >= 15: at T0 + 75.
    assert 14 <= retry_after <= 14.3


def test_zero_turns_the_limit_off(send_counters, settings):
    settings.CHAT_SENDS_PER_MINUTE = 0
    for _ in range(100):
        assert allow_send(5, now=T0) == (True, 0.0)


def test_sends_counted_in_redis_are_the_cache_s_own_counts(send_counters, settings):
    """Every process reads the same counts, whichever way it counted them."""
    settings.CHAT_SENDS_PER_MINUTE = 10
    for second in range(3):
        allow_send(8, now=T0 + second)
    assert send_counters.get(f"ratelimit:send:8:{int(T0 // 60)}") == 3


def test_a_redis_that_does_not_answer_lets_sends_through(settings):
    settings.CHAT_SENDS_PER_MINUTE = 1
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1",  # nothing listens there
        }
    }
    assert allow_send(6, now=T0) == (True, 0.0)
    assert allow_send(6, now=T0) == (True, 0.0)


async def test_a_redis_that_hangs_lets_sends_through_within_a_second(settings):
    async def never_answer(reader, writer):
        await reader.read()  # holds the connection open, answers nothing

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings.CHAT_SENDS_PER_MINUTE = 1
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}",
        }
    }
    loop = asyncio.get_running_loop()
    try:
        started = loop.time()
        # Six sends, each in its worker thread.
        verdicts = await asyncio.gather(
            *(asyncio.to_thread(allow_send, 6, now=T0) for _ in range(6))
        )
        waited = loop.time() - started
    finally:
        server.close()

    assert verdicts == [(True, 0.0)] * 6
    assert waited < 2 * ratelimit.COUNT_TIMEOUT_SECONDS


def test_a_cache_that_does_not_answer_lets_sends_through(settings, monkeypatch):
    settings.CHAT_SENDS_PER_MINUTE = 1

    def down(*args, **kwargs):
        raise ConnectionError("redis is gone")

    monkeypatch.setattr(ratelimit, "_send_counts", down)
    assert allow_send(6, now=T0) == (True, 0.0)


# --- logins ---------------------------------------------------------------------


@pytest.fixture
def throttle(isolated_cache, settings):
    settings.LOGIN_FAILURES_ALLOWED = 3
    settings.LOGIN_LOCKOUT_SECONDS = 600
    return settings


def log_in(client, password, username="alice", address="203.0.113.5"):
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def test_failed_logins_lock_the_username_and_address_out_with_429(client, alice, throttle):
    assert log_in(client, "wrong-1").status_code == 200
    assert log_in(client, "wrong-2").status_code == 200
    third = log_in(client, "wrong-3")
    assert third.status_code == 429
    assert 590 <= int(third["Retry-After"]) <= 600
    assert "Too many failed log-in attempts" in third.content.decode()
    assert "Try again in 10 minutes" in third.content.decode()

    # Even the right password is refused while locked out...
    right = log_in(client, "alice-pw-123")
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    # ...but only for that pair: the same account from elsewhere still works.
    assert log_in(client, "alice-pw-123", address="198.51.100.7").status_code == 302


def test_other_usernames_from_the_same_address_are_not_locked(client, alice, bob, throttle):
    for attempt in range(3):
        log_in(client, f"wrong-{attempt}")
    assert log_in(client, "bob-pw-123", username="bob").status_code == 302


def test_a_successful_login_clears_the_failures(client, alice, throttle):
    log_in(client, "wrong-1")
    log_in(client, "wrong-2")
    assert log_in(client, "alice-pw-123").status_code == 302
    client.logout()
    assert log_in(client, "wrong-3").status_code == 200
    assert log_in(client, "wrong-4").status_code == 200


def test_the_lockout_ends(client, alice, throttle, monkeypatch):
    for attempt in range(3):
        log_in(client, f"wrong-{attempt}")
    later = time.time() + 601
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: later))
    assert log_in(client, "alice-pw-123").status_code == 302


def test_the_admin_login_is_throttled_too(client, alice, throttle):
    for attempt in range(3):
        client.post(
            "/admin/login/",
            {"username": "alice", "password": f"wrong-{attempt}"},
            REMOTE_ADDR="203.0.113.9",
        )
    response = client.post(
        "/admin/login/",
        {"username": "alice", "password": "alice-pw-123"},
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 429


# Spellings Django's login form reads as the same name (it NFKC-normalises it):
# the failures of one and the lockout of another are one pair's.
SAME_NAME = [
    ("alice", "\uff41lice"),  # a fullwidth "a"
    ("\uff41\uff4c\uff49\uff43\uff45", "alice"),
]


@pytest.mark.parametrize(("failed_as", "tried_as"), SAME_NAME)
def test_another_spelling_of_a_locked_out_name_is_locked_out_too(
    client, alice, throttle, failed_as, tried_as
):
    for attempt in range(3):
        log_in(client, f"wrong-{attempt}", username=failed_as)

    assert log_in(client, "alice-pw-123", username=tried_as).status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_login_under_another_spelling_clears_the_failures(client, alice, throttle):
    log_in(client, "wrong-1")
    log_in(client, "wrong-2")
    assert log_in(client, "alice-pw-123", username="\uff41lice").status_code == 302
    client.logout()
    assert log_in(client, "wrong-3").status_code == 200
    assert log_in(client, "wrong-4").status_code == 200


def test_usernames_are_not_kept_in_the_cache_in_clear():
    failures_key, locked_key = ratelimit._login_keys("alice", "203.0.113.5")
    assert "alice" not in failures_key and "203.0.113.5" not in locked_key
