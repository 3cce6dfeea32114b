"""A malformed environment variable stops the app with a message naming it,
instead of a bare traceback or a setting silently left off."""

import subprocess

import pytest

from .conftest import python_in_production

SHOW = (
    "import django; django.setup(); from django.conf import settings; "
    "print(getattr(settings, 'SECURE_PROXY_SSL_HEADER', None), settings.SECURE_SSL_REDIRECT)"
)


def load_settings(**env: str) -> subprocess.CompletedProcess:
    return python_in_production(SHOW, **env)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        # Each was read as "off", without a word: the session cookie also went
        # over plain HTTP, plain HTTP was served, answers of a dead process
        # stayed "streaming" for good, the proxy's scheme was not trusted.
        ("SECURE_COOKIES", "ture"),
        ("SECURE_SSL_REDIRECT", "enabled"),
        ("CHAT_RECOVERY", "y"),
        ("BEHIND_TLS_PROXY", "y"),
    ],
)
def test_a_yes_or_no_variable_with_another_value_is_refused(name, value):
    result = load_settings(**{name: value})
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr and repr(value) in result.stderr


def test_yes_and_no_spelled_the_usual_ways_still_load():
    for value in ("True", " yes "):
        result = load_settings(BEHIND_TLS_PROXY=value)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split()[0] == "('HTTP_X_FORWARDED_PROTO',"
    for value in ("off", ""):
        result = load_settings(BEHIND_TLS_PROXY=value, SECURE_SSL_REDIRECT="0")
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["None", "False"]


@pytest.mark.parametrize(
    "name", ["CHAT_COALESCE_SECONDS", "CHAT_PERSIST_SECONDS", "CHAT_HEARTBEAT_SECONDS"]
)
def test_a_number_of_seconds_that_is_not_a_number_is_named(name):
    result = load_settings(**{name: "16ms"})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{name} must be a number of seconds, not '16ms'" in result.stderr


def test_an_unknown_log_level_is_named():
    result = load_settings(LOG_LEVEL="verbose")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "LOG_LEVEL must be one of" in result.stderr


def test_allowed_hosts_with_a_port_is_refused():
    # Django compares the request's host without its port: "chat.example.com:8443"
    # matched no request, and every page answered 400.
    result = load_settings(ALLOWED_HOSTS="chat.example.com:8443")
    assert result.returncode != 0
    assert "ALLOWED_HOSTS takes host names without a port" in result.stderr
    for hosts in ("[::1]", "chat.example.com,.example.org,10.0.0.5"):
        assert load_settings(ALLOWED_HOSTS=hosts).returncode == 0


def test_a_redis_url_without_its_scheme_is_refused():
    # "redis:6379" loaded, and then every login (the throttle's cache), every
    # websocket and /readyz failed with redis-py's "Redis URL must specify one
    # of the following schemes", which does not say which variable.
    result = load_settings(REDIS_URL="redis:6379")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "REDIS_URL must start with redis://, rediss:// or unix://" in result.stderr
    assert load_settings(REDIS_URL=" rediss://:pw@cache.example.com:6380/0 ").returncode == 0


def test_connection_reuse_that_is_not_a_number_is_named():
    result = load_settings(CONN_MAX_AGE="a minute")
    assert result.returncode != 0
    assert "CONN_MAX_AGE must be a whole number, not 'a minute'" in result.stderr


@pytest.mark.parametrize(
    "url",
    ["postgres://chatapp:pa/ss@db:5432/chatapp", "postgress://chatapp@db:5432/chatapp"],
    ids=["a password with a slash", "a misspelt scheme"],
)
def test_a_database_url_that_cannot_be_read_is_named_without_its_password(url):
    result = load_settings(DATABASE_URL=url)
    assert result.returncode != 0
    assert "ImproperlyConfigured: DATABASE_URL could not be read" in result.stderr
    assert "pa/ss" not in result.stderr
