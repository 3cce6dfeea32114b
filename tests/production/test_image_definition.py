"""What the Dockerfile promises, read from the Dockerfile itself (the linters
check its form; these check its intent)."""

from .conftest import (
    DOCKERFILE,
    dockerfile_command,
    dockerfile_env,
    dockerfile_healthcheck,
    python_in_production,
)


def test_multi_stage_python_313_slim():
    text = DOCKERFILE.read_text()
    assert "ARG PYTHON_IMAGE=python:3.13-slim" in text
    assert "AS build" in text and "AS runtime" in text
    assert "COPY --from=build /opt/venv /opt/venv" in text


def test_runs_as_a_non_root_user():
    users = [
        line.split()[1] for line in DOCKERFILE.read_text().splitlines() if line.startswith("USER ")
    ]
    assert users and users[-1].split(":")[0] not in {"0", "root"}


def test_starts_daphne_with_proxy_headers_and_never_migrates_by_itself():
    command = dockerfile_command()
    # chatapp.serve is daphne on uvloop, with daphne's own arguments.
    assert command[:7] == ["python", "-m", "chatapp.serve", "-b", "0.0.0.0", "-p", "8000"]  # noqa: S104
    assert "--proxy-headers" in command
    assert command[-1] == "chatapp.asgi:application"
    assert "migrate" not in " ".join(command)
    instructions = [
        line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")
    ]
    assert not any("migrate" in line for line in instructions)
    assert "ENTRYPOINT" not in DOCKERFILE.read_text()  # `docker compose run app python ...` works


def test_production_environment_and_healthcheck():
    env = dockerfile_env()
    assert env["DEBUG"] == "0"
    assert env["LOG_FORMAT"] == "json"
    assert env["BEHIND_TLS_PROXY"] == "1"
    assert "SECRET_KEY" not in env  # never baked into the image
    assert "http://127.0.0.1:8000/healthz" in dockerfile_healthcheck()[-1]


def test_static_files_are_collected_at_build_time():
    assert "manage.py collectstatic --noinput" in DOCKERFILE.read_text()


def test_s3_media_needs_django_storages_and_a_bucket():
    def settings_error(**env):
        result = python_in_production("import django; django.setup()", **env)
        return result.returncode, result.stderr

    code, stderr = settings_error(MEDIA_STORAGE="s3", MEDIA_S3_BUCKET="chatapp-media")
    try:
        import storages  # noqa: F401
    except ImportError:
        assert code != 0 and "django-storages" in stderr
    else:
        assert code == 0, stderr
    code, stderr = settings_error(MEDIA_STORAGE="ftp")
    assert code != 0 and "MEDIA_STORAGE must be" in stderr
