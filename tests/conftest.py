"""Baking helpers shared by the template tests."""

import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cookiecutter.main import cookiecutter
from uv import find_uv_bin

ROOT = Path(__file__).resolve().parent.parent
# Every combination the template supports, one option changed at a time, plus everything off.
COMBINATIONS: dict[str, dict[str, Any]] = {
    "default": {},
    "no_silk": {"use_silk": False},
    "no_debug_toolbar": {"use_debug_toolbar": False},
    "no_example_api": {"include_example_api": False},
    "python_3_11": {"python_version": "3.11"},
    "python_3_13": {"python_version": "3.13"},
    "all_off": {"use_silk": False, "use_debug_toolbar": False, "include_example_api": False},
}
# In CI every run must happen: a missing service or interpreter fails instead of skipping.
STRICT = os.environ.get("TEMPLATE_TESTS_STRICT") == "1"

Baker = Callable[..., Path]


def bake_into(output_dir: Path, **context: Any) -> Path:
    """Generate a project into output_dir with the given answers; return its folder."""
    return Path(cookiecutter(str(ROOT), no_input=True, output_dir=str(output_dir), extra_context=context))


def project_env(**extra: str) -> dict[str, str]:
    """Return an environment for a generated project's commands, free of this shell's Django and uv settings."""
    dropped = ("DJANGO_", "DATABASE_URL", "REDIS_URL", "UV_PYTHON", "VIRTUAL_ENV", "TEMPLATE_TESTS_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(dropped)}
    return env | extra


def run_make(
    project: Path, *targets: str, env: dict[str, str] | None = None, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """Return the outcome of make targets run in a generated project with the template's own uv."""
    return subprocess.run(
        ["make", "--no-print-directory", *targets, f"UV={find_uv_bin()}"],
        cwd=project,
        env=project_env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def make(project: Path, *targets: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run make targets in a generated project with the template's own uv; fail with their output if they fail."""
    result = run_make(project, *targets, env=env)
    output = f"{result.stdout[-6000:]}\n{result.stderr[-4000:]}"
    assert result.returncode == 0, f"make {' '.join(targets)} failed:\n{output}"
    return result


def fresh_database(project: Path, url: str, suffix: str) -> str:
    """Return the URL of an empty database beside url's, named after it with suffix, (re)created with psycopg.

    The generated project's own psycopg does it, so ``make install`` must have run in ``project``.
    """
    server, name = url.rsplit("/", 1)
    fresh = f"{name}_{suffix}"
    script = (
        "import psycopg, sys\n"
        "with psycopg.connect(sys.argv[1], autocommit=True) as connection:\n"
        "    connection.execute(f'DROP DATABASE IF EXISTS {sys.argv[2]} WITH (FORCE)')\n"
        "    connection.execute(f'CREATE DATABASE {sys.argv[2]}')\n"
    )
    subprocess.run([str(project / ".venv/bin/python"), "-c", script, f"{server}/postgres", fresh], check=True)
    return f"{server}/{fresh}"


def free_port() -> int:
    """Return a TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def skip_unless(condition: bool, reason: str) -> None:
    """Skip the test when condition is false, or fail it in strict (CI) runs."""
    if condition:
        return
    if STRICT:
        pytest.fail(f"{reason} (TEMPLATE_TESTS_STRICT=1 requires it)")
    pytest.skip(reason)


def session_baker(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Return a function that bakes a named combination once and returns its folder."""
    projects: dict[str, Path] = {}

    def bake(name: str) -> Path:
        if name not in projects:
            projects[name] = bake_into(tmp_path_factory.mktemp(name), **COMBINATIONS[name])
        return projects[name]

    return bake


@pytest.fixture(scope="session")
def baked(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Return a function giving each combination's project as generated, never installed or run."""
    return session_baker(tmp_path_factory)


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Return a function giving each combination's project to install and run, shared by the tests that do."""
    return session_baker(tmp_path_factory)
