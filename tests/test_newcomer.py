"""A newcomer's first commands work as the generated README says: the address from HOST and PORT, ``make manage``,
and ``make migrate`` creating the database DATABASE_URL names.

They run in the project with every option off, which the suite installs anyway; nothing here depends on an option.
"""

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from uv import find_uv_bin

from tests.conftest import free_port, make, project_env, run_make, skip_unless
from tests.test_generated_project import DATABASE_URL, python_available

# Seconds a target may take to answer /health/ once it is installed and migrated.
START_TIMEOUT = 60


def health_status(port: int) -> int | None:
    """Return the status of GET /health/ on the port, or None when nothing answers yet."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


@contextmanager
def serving(project: Path, target: str, **env: str) -> Iterator[subprocess.Popen[str]]:
    """Run a make target that serves until stopped, in a process group of its own; stop it on the way out."""
    process = subprocess.Popen(
        ["make", "--no-print-directory", target, f"UV={find_uv_bin()}"],
        cwd=project,
        env=project_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for_health(process: subprocess.Popen[str], port: int) -> int | None:
    """Return /health/'s status once the port answers, or None if the process ended or the time ran out first."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        if (status := health_status(port)) is not None:
            return status
        time.sleep(0.5)
    return None


@pytest.mark.parametrize("target", ["run", "serve"])
def test_make_run_and_serve_listen_where_host_and_port_say(workspace: Callable[[str], Path], target: str) -> None:
    skip_unless(python_available("3.12"), "no Python 3.12 here")
    project = workspace("all_off")
    make(project, "migrate")
    port = free_port()

    with serving(project, target, HOST="127.0.0.1", PORT=str(port)) as process:
        status = wait_for_health(process, port)

    output = process.stdout.read() if process.stdout else ""
    assert status == 200, output[-3000:]


def test_make_manage_runs_a_manage_py_command_in_the_project_environment(workspace: Callable[[str], Path]) -> None:
    skip_unless(python_available("3.12"), "no Python 3.12 here")

    result = make(workspace("all_off"), "manage", ARGS="shell --command 'print(6 * 7)'")

    assert result.stdout.splitlines()[-1] == "42"


def test_make_migrate_creates_the_database_database_url_names(workspace: Callable[[str], Path]) -> None:
    skip_unless(bool(DATABASE_URL), "TEMPLATE_TESTS_DATABASE_URL unset")
    project = workspace("all_off")
    make(project, "install")
    server = DATABASE_URL.rsplit("/", 1)[0]
    name = "drf_fast_newcomer"
    drop = f"import psycopg\nwith psycopg.connect('{server}/postgres', autocommit=True) as c:\n"
    drop += f"    c.execute('DROP DATABASE IF EXISTS {name} WITH (FORCE)')\n"
    subprocess.run([str(project / ".venv/bin/python"), "-c", drop], check=True)
    try:
        result = make(project, "migrate", DATABASE_URL=f"{server}/{name}")

        assert f"Created the database {name} on " in result.stdout
        assert "Applying core.0001_initial... OK" in result.stdout
    finally:
        subprocess.run([str(project / ".venv/bin/python"), "-c", drop], check=True)


def test_make_migrate_with_a_server_that_does_not_answer_stops_in_one_line(workspace: Callable[[str], Path]) -> None:
    skip_unless(python_available("3.12"), "no Python 3.12 here")
    project = workspace("all_off")
    make(project, "install")

    result = run_make(project, "migrate", env={"DATABASE_URL": "postgres://postgres@127.0.0.1:1/anything"})

    assert result.returncode != 0
    assert "CommandError: Cannot connect to PostgreSQL at 127.0.0.1:1 (Connection refused)" in result.stderr
    assert "Traceback" not in result.stderr
