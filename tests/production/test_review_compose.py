"""compose.yaml passes what the operator puts in .env to the app.

Compose reads .env only to fill in ${...} in compose.yaml; a variable reaches
a container only when the service names it. Variables the README documents
(a gateway key named in the admin, MEDIA_STORAGE=s3 and AWS_*, the limits)
were silently left out of the app.
"""

import re

from .conftest import ROOT, python_in_production

COMPOSE = ROOT / "compose.yaml"


def service_block(name: str) -> str:
    """The lines of one service, up to the next service or top-level key."""
    text = COMPOSE.read_text()
    match = re.search(rf"^  {name}:\n((?:    .*\n|\s*\n)+)", text, re.MULTILINE)
    assert match, f"no service {name!r} in compose.yaml"
    return match.group(1)


def test_the_app_gets_every_variable_of_the_env_file():
    app = service_block("app")
    env_file = re.search(r"^    env_file:\n((?:      .*\n)+)", app, re.MULTILINE)
    assert env_file, "the app service has no env_file: .env"
    assert re.search(r"(- |path: )\.env\s*$", env_file.group(1), re.MULTILINE)
    # Built from .env values, so the app needs them here, as before.
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"):
        assert re.search(rf"^      {name}: ", app, re.MULTILINE), name


def test_the_env_example_says_where_its_variables_go():
    example = (ROOT / "deploy" / "production.env.example").read_text()
    assert "MEDIA_STORAGE" in example and "_KEY" in example


def app_environment(values: dict[str, str]) -> dict[str, str]:
    """The app service's environment: as compose fills it in from ``values`` (.env)."""
    block = re.search(r"^    environment:\n((?:      .*\n)+)", service_block("app"), re.MULTILINE)

    def fill(match: re.Match) -> str:
        name, default = match.group(1), match.group(3)
        return values.get(name) or default or ""

    env = {}
    for line in block.group(1).splitlines():
        name, _, value = line.strip().partition(": ")
        env[name] = re.sub(r"\$\{(\w+)(:?[-?](.*?))?\}", fill, value)
    return env


def test_a_database_password_with_url_characters_reaches_postgres_intact():
    # `openssl rand -base64 32` gives a password with "/" one time in two:
    # put into DATABASE_URL as it is, the app did not start ("This string is
    # not a valid url") and `manage.py migrate` failed the same way.
    password = "k3/Yq+Zr=9@a:b?c#d%e"
    env = app_environment(
        {"POSTGRES_PASSWORD": password, "SITE_HOST": "chat.example.com", "SECRET_KEY": "x" * 50}
    )
    show = (
        "import os, django; django.setup(); from django.conf import settings; "
        "db = settings.DATABASES['default']; "
        "print(repr((db['HOST'], db['PORT'], db['USER'], db['NAME'], "
        "db['PASSWORD'] or os.environ.get('PGPASSWORD'))))"
    )
    result = python_in_production(show, **env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == repr(("db", 5432, "chatapp", "chatapp", password))
