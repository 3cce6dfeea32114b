"""`docker run` with no DATABASE_URL: the image's own SQLite database must be
where its unprivileged user may write, on the /data volume with the uploads,
not beside the code in /app (which that user cannot write).

Read from the Dockerfile itself, with no Docker engine."""

import shlex
from pathlib import PurePosixPath

import dj_database_url

from .conftest import ROOT, _dockerfile_instructions, dockerfile_env, python_in_production

DATA = PurePosixPath("/data")
PRINT_DATABASE = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['NAME'])"
)


def commands_run() -> list[list[str]]:
    """Each command of the runtime stage's RUN instructions, split as a shell would."""
    return [
        shlex.split(part) for run in _dockerfile_instructions("RUN") for part in run.split("&&")
    ]


def app_user() -> set[str]:
    """The uid the container runs as (the last USER), and the name useradd gave it."""
    uid = _dockerfile_instructions("USER")[-1].split(":")[0]
    for command in commands_run():
        if command[:1] == ["useradd"] and command[command.index("--uid") + 1] == uid:
            return {uid, command[-1]}
    raise AssertionError(f"no useradd for uid {uid}")


def image_database() -> PurePosixPath:
    database = dj_database_url.parse(dockerfile_env()["DATABASE_URL"])
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    return PurePosixPath(database["NAME"])


def test_the_default_database_is_a_sqlite_file_on_the_data_volume():
    env = dockerfile_env()
    assert "DATABASE_URL" in env, "without it, SQLite wants /app/db.sqlite3, not writable"
    assert DATA in image_database().parents
    assert DATA in PurePosixPath(env["MEDIA_ROOT"]).parents, "the uploads beside it"
    volumes = " ".join(_dockerfile_instructions("VOLUME"))
    assert '"/data"' in volumes, "kept apart from the container, which a release replaces"


def test_the_app_user_owns_the_data_directory_and_what_is_in_it():
    user = app_user()
    owned_recursively = set()
    for command in commands_run():
        if command[:1] != ["chown"]:
            continue
        flags = [arg for arg in command[1:] if arg.startswith("-")]
        owner, *targets = [arg for arg in command[1:] if not arg.startswith("-")]
        if owner.split(":")[0] in user and ({"-R", "--recursive"} & set(flags)):
            owned_recursively.update(PurePosixPath(target) for target in targets)
    # SQLite creates the file and, in WAL mode, its -wal and -shm files beside it.
    assert image_database().parent in owned_recursively
    assert DATA in owned_recursively, "media/ too"


def test_the_app_uses_that_database_and_make_run_keeps_its_own():
    image = python_in_production(PRINT_DATABASE, **dockerfile_env())
    assert image.returncode == 0, image.stderr
    assert image.stdout.split() == ["django.db.backends.sqlite3", str(image_database())]

    # Outside the image nothing changes: a file beside the code, as `make run` uses.
    local = python_in_production(PRINT_DATABASE, DEBUG="1")
    assert local.returncode == 0, local.stderr
    assert local.stdout.split() == ["django.db.backends.sqlite3", str(ROOT / "db.sqlite3")]
