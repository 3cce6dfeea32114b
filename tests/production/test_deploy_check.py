"""Django's deployment checklist passes with production variables, and means it."""

from tests.processes import manage

from .conftest import production_env, python_in_production


def test_check_deploy_passes_with_production_variables():
    result = manage(production_env(), "check", "--deploy", "--fail-level", "WARNING", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_passes_with_postgres_and_redis_urls_too():
    env = production_env(
        DATABASE_URL="postgres://chatapp:secret@db.invalid:5432/chatapp",
        REDIS_URL="redis://redis.invalid:6379/0",
    )
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING", check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_fails_when_hsts_is_turned_off():
    """The check is real: weaken a setting and it fails."""
    result = manage(
        production_env(SECURE_HSTS_SECONDS="0"),
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        check=False,
    )
    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env()
    del env["SECRET_KEY"]
    result = manage(env, "check", check=False)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_allowed_hosts_takes_host_names_not_urls():
    result = manage(production_env(ALLOWED_HOSTS="https://chat.example.com"), "check", check=False)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS takes host names" in result.stderr


def test_the_csp_names_the_websocket_origin_of_each_allowed_host():
    result = python_in_production(
        "import django; django.setup(); from django.conf import settings; "
        "print(' '.join(settings.SECURE_CSP['connect-src']))",
        ALLOWED_HOSTS="chat.example.com,.example.org",
    )
    assert result.returncode == 0, result.stderr
    sources = result.stdout.split()
    assert sources[0] == "'self'"
    assert "wss://chat.example.com" in sources
    assert "wss://*.example.org" in sources and "wss://example.org" in sources
    # Behind TLS only the secure scheme is allowed.
    assert not any(source.startswith("ws://") for source in sources)
