"""Running chatapp's own commands as subprocesses, as an operator would.

Shared by the browser, production and scale-out tests, which each start real
servers with their own environment.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The app server as the Dockerfile starts it: daphne on uvloop; add daphne's arguments.
SERVE = (sys.executable, "-m", "chatapp.serve")


def manage(
    env: dict[str, str], *args: str, check: bool = True, timeout: float = 180
) -> subprocess.CompletedProcess:
    """Run ``manage.py`` with ``env``; with ``check``, fail the test showing its output."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"manage.py {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
    return result
