"""Abuse limits counted in Django's cache: Redis when REDIS_URL is set (shared by
every process), process memory otherwise.

Sends: ``allow_send(user_id)`` before a message is accepted. At most
``CHAT_SENDS_PER_MINUTE`` sends per member over a sliding minute (a weighted
pair of fixed one-minute windows); a refused send does not count.

Logins: ``login_locked_for(username, address)`` before checking a password,
``record_login_failure`` after a wrong one, ``clear_login_failures`` after a
right one. ``LOGIN_FAILURES_ALLOWED`` failures for one username from one
address lock that pair out for ``LOGIN_LOCKOUT_SECONDS``; ``ADDRESS_FAILURES_PER_NAME``
times as many from one address, whatever the names, lock the address out. An
IPv6 address counts as its /64.

A cache that does not answer lets the request through (and logs it): these
limits protect the service, they must not take it down.

Sends are counted in the send's own trip to a worker thread, beside its
database work: in Redis in one round trip (same keys and values as Django's
cache), elsewhere through Django's cache API. From the event loop, a count
waited for one of a few connections and then for the loop to come round:
under a burst of sends that was 130 ms (p50) before each answer could start
(benchmarks/relay.py).
"""

import contextlib
import hashlib
import ipaddress
import logging
import math
import re
import time
import unicodedata

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from django.core.signals import setting_changed
from django.dispatch import receiver

logger = logging.getLogger(__name__)

SEND_WINDOW_SECONDS = 60
SEND_KEY_SECONDS = 2 * SEND_WINDOW_SECONDS + 5

_counters: BaseCache | None = None


def counters() -> BaseCache:
    """The default cache, as one object for the whole process.

    ``caches["default"]`` gives every thread and asyncio task its own object,
    each with its own Redis connections. The Redis and local-memory backends
    are safe to share between threads (the settings use no other).
    """
    global _counters
    if _counters is None:
        _counters = caches.create_connection("default")
    return _counters


# A count that takes longer lets the send through: a Redis that hangs must
# hold up neither the send nor the worker thread it runs in.
COUNT_TIMEOUT_SECONDS = 1.0
# Django's own RedisCache options, not redis-py's.
_DJANGO_ONLY_OPTIONS = {"serializer", "pool_class", "parser_class"}

# Send counters' Redis clients, by the cache configuration each was made for.
_redis_clients: dict[str, redis.Redis] = {}


@receiver(setting_changed)
def _forget_counters(setting: str, **_signal_arguments) -> None:
    global _counters
    if setting == "CACHES":
        _counters = None
        _send_counting.paused_until = 0.0
        for client in _redis_clients.values():
            client.close()
        _redis_clients.clear()


def _redis_client() -> redis.Redis:
    """A client for the cache's Redis, set up as Django sets up its own, with timeouts.

    One per process: its pool keeps a connection per thread counting at once.
    """
    config = settings.CACHES["default"]
    location = config["LOCATION"]
    servers = location if isinstance(location, list | tuple) else re.split("[;,]", location)
    options = {
        name: value
        for name, value in config.get("OPTIONS", {}).items()
        if name not in _DJANGO_ONLY_OPTIONS
    }
    options.setdefault("socket_timeout", COUNT_TIMEOUT_SECONDS)
    options.setdefault("socket_connect_timeout", COUNT_TIMEOUT_SECONDS)
    key = repr((servers[0], sorted(options.items())))
    if key not in _redis_clients:
        # Django writes to the first server; OPTIONS are its connection pool's.
        _redis_clients[key] = redis.Redis.from_url(servers[0], **options)
    return _redis_clients[key]


# After a count fails, sends are let through uncounted for a while: with a
# Redis that never answers, each send waited out the timeout in a worker
# thread, and a burst of them held the pool's few threads for seconds.
COUNTING_PAUSED_SECONDS = 10.0


class _SendCounting:
    paused_until = 0.0  # time.monotonic()


_send_counting = _SendCounting()


def _send_key(user_id: int, window: int) -> str:
    return f"ratelimit:send:{user_id}:{window}"


def _send_counts(user_id: int, now: float) -> tuple[int, int, float]:
    """Count this send; return (this window's count, the previous window's, elapsed)."""
    cache = counters()
    window = int(now // SEND_WINDOW_SECONDS)
    elapsed = now - window * SEND_WINDOW_SECONDS
    current_key = _send_key(user_id, window)
    previous_key = _send_key(user_id, window - 1)
    if isinstance(cache, RedisCache):
        pipeline = _redis_client().pipeline(transaction=False)
        pipeline.set(cache.make_and_validate_key(current_key), 0, ex=SEND_KEY_SECONDS, nx=True)
        pipeline.incr(cache.make_and_validate_key(current_key))
        pipeline.get(cache.make_and_validate_key(previous_key))
        _, current, previous = pipeline.execute()
        return current, int(previous or 0), elapsed
    cache.add(current_key, 0, timeout=SEND_KEY_SECONDS)
    try:
        current = cache.incr(current_key)
    except ValueError:  # expired between add and incr
        cache.set(current_key, 1, timeout=SEND_KEY_SECONDS)
        current = 1
    return current, cache.get(previous_key) or 0, elapsed


def _uncount_send(user_id: int, now: float) -> None:
    cache = counters()
    key = _send_key(user_id, int(now // SEND_WINDOW_SECONDS))
    if isinstance(cache, RedisCache):
        client = _redis_client()
        if client.decr(cache.make_and_validate_key(key)) < 0:  # it had expired
            client.delete(cache.make_and_validate_key(key))
        return
    with contextlib.suppress(ValueError):  # expired meanwhile: nothing to take back
        cache.decr(key)


def _send_retry_after(limit: int, current: int, previous: int, elapsed: float) -> float:
    """Seconds until one more send fits, ``current`` not counting the refused one."""
    window = SEND_WINDOW_SECONDS
    to_rollover = window - elapsed
    # Still in this window, as the previous window's weight fades.
    if current + 1 <= limit and previous > 0:
        wait = window * (1 - (limit - current - 1) / previous) - elapsed
        if wait < to_rollover:
            return max(wait, 0.0)
    # After the rollover this window's sends become the fading previous ones.
    wait = window * (1 - (limit - 1) / current) if current > limit - 1 else 0.0
    return to_rollover + max(wait, 0.0)


def allow_send(user_id: int, *, now: float | None = None) -> tuple[bool, float]:
    """Count a send by ``user_id``: ``(True, 0.0)``, or ``(False, seconds to wait)``.

    Call it once per send attempt, before anything is saved; a refused
    attempt is not counted. Blocking (a round trip to Redis): call it from a
    worker thread. ``now`` (epoch seconds) is for tests.
    """
    limit = settings.CHAT_SENDS_PER_MINUTE
    if limit <= 0:
        return True, 0.0
    now = time.time() if now is None else now
    if time.monotonic() < _send_counting.paused_until:
        return True, 0.0
    try:
        current, previous, elapsed = _send_counts(user_id, now)
    except Exception:  # the cache is down: let the send through
        _send_counting.paused_until = time.monotonic() + COUNTING_PAUSED_SECONDS
        logger.warning("send rate limit not checked: cache unavailable", exc_info=True)
        return True, 0.0
    estimate = previous * (1 - elapsed / SEND_WINDOW_SECONDS) + current
    if estimate <= limit:
        return True, 0.0
    try:
        _uncount_send(user_id, now)
    except Exception:
        logger.warning("refused send not uncounted: cache unavailable", exc_info=True)
    retry_after = _send_retry_after(limit, current - 1, previous, elapsed)
    # Rounded up to a tenth so that waiting exactly that long is enough.
    return False, math.ceil(retry_after * 10) / 10 + 0.1


# ---------------------------------------------------------------------------
# Logins


def _login_name(username: str) -> str:
    """One spelling for every name that logs in as the same account.

    Django's login form NFKC-normalises the name (a fullwidth "admin" is
    "admin"): a key made without it let a locked-out name try on under
    another spelling.
    """
    return unicodedata.normalize("NFKC", username).strip().casefold()


# Failures from one address, whatever the names, before it waits too: a few
# guesses at each of many names (password spraying) were never limited.
ADDRESS_FAILURES_PER_NAME = 4


def _client_network(address: str) -> str | None:
    """The client's network as one address; None if ``address`` is none.

    IPv6 clients count as their /64: every connection has one, 2^64
    addresses to rotate.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((ip, 64), strict=False))


def _login_keys(username: str, address: str) -> tuple[str, str]:
    pair = f"{_login_name(username)}\0{_client_network(address) or address}"
    digest = hashlib.sha256(pair.encode()).hexdigest()
    return f"ratelimit:login:failures:{digest}", f"ratelimit:login:locked:{digest}"


def _address_keys(address: str) -> tuple[str, str] | None:
    network = _client_network(address)
    if network is None:
        return None  # "unknown" is every client at once: never lock it as one
    digest = hashlib.sha256(network.encode()).hexdigest()
    return f"ratelimit:login:address-failures:{digest}", f"ratelimit:login:address-locked:{digest}"


def login_locked_for(username: str, address: str, *, now: float | None = None) -> float:
    """Seconds this username/address pair, or the address, must still wait; 0.0 if it may try."""
    if settings.LOGIN_FAILURES_ALLOWED <= 0:
        return 0.0
    now = time.time() if now is None else now
    locked_keys = [_login_keys(username, address)[1]]
    if address_keys := _address_keys(address):
        locked_keys.append(address_keys[1])
    try:
        until = max(counters().get_many(locked_keys).values(), default=0.0)
    except Exception:
        logger.warning("login throttle not checked: cache unavailable", exc_info=True)
        return 0.0
    return max(until - now, 0.0)


def _count_failure(keys: tuple[str, str], allowed: int, lockout: int, now: float) -> bool:
    """Count one failure under ``keys``; whether that locked them out."""
    failures_key, locked_key = keys
    cache = counters()
    cache.add(failures_key, 0, timeout=lockout)
    try:
        failures = cache.incr(failures_key)
    except ValueError:
        cache.set(failures_key, 1, timeout=lockout)
        failures = 1
    if failures < allowed:
        return False
    cache.set(locked_key, now + lockout, timeout=lockout)
    cache.delete(failures_key)
    return True


def record_login_failure(username: str, address: str, *, now: float | None = None) -> float:
    """Count a failed login; return the lockout it caused (0.0 if none yet)."""
    allowed = settings.LOGIN_FAILURES_ALLOWED
    if allowed <= 0:
        return 0.0
    now = time.time() if now is None else now
    lockout = settings.LOGIN_LOCKOUT_SECONDS
    try:
        pair = _count_failure(_login_keys(username, address), allowed, lockout, now)
        per_address = allowed * ADDRESS_FAILURES_PER_NAME
        address_keys = _address_keys(address)
        whole_address = address_keys is not None and _count_failure(
            address_keys, per_address, lockout, now
        )
    except Exception:
        logger.warning("failed login not counted: cache unavailable", exc_info=True)
        return 0.0
    if not (pair or whole_address):
        return 0.0
    what = "username and address" if pair else "address, for every username"
    logger.warning("login locked out: %s", what, extra={"address": address})
    return float(lockout)


def clear_login_failures(username: str, address: str) -> None:
    # Only the pair's: a login to one's own account must not reset the address's count.
    failures_key, _ = _login_keys(username, address)
    try:
        counters().delete(failures_key)
    except Exception:
        logger.warning("login failures not cleared: cache unavailable", exc_info=True)
