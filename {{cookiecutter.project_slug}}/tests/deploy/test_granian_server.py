"""Granian, as ``make serve SERVER=granian`` starts it: the production settings on a free port, stopped by SIGTERM.

Alone against slow clients: granian reads request headers itself, in Rust, so slow headers hold no worker; but a
worker's one Python thread reads the body of a request, so a slowly sent body holds it, as it holds a gunicorn sync
worker (tests/front/). Either server needs nginx in front for that.
"""

import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from deploy.granian_server import granian_arguments
from tests.perf.servers import PROJECT, free_port, manage, production_env, wait_until_up
from tests.perf.slow_clients import get, normal_requests, slow_bodies, slow_headers

STOP_SECONDS = 30
GRACEFUL_SECONDS = 10
# Long enough for every slow client to be well into its request.
HEAD_START = 2.0


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Return the production environment on a migrated database of its own (a new SQLite file)."""
    database = tmp_path_factory.mktemp("granian-database") / "db.sqlite3"
    environment = production_env(DATABASE_URL=f"sqlite:///{database}")
    manage("migrate", "--noinput", "--verbosity", "0", env=environment)
    return environment


@contextmanager
def granian(environment: dict[str, str], *, workers: int = 2) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start ``python -m deploy.granian_server`` on a free port; yield its base URL and process."""
    port = free_port()
    variables = {
        **environment,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        # A worker that does not stop in time is killed well before the test gives up waiting (a loaded CI machine).
        "GUNICORN_GRACEFUL_TIMEOUT": str(GRACEFUL_SECONDS),
    }
    command = [sys.executable, "-m", "deploy.granian_server"]
    process = subprocess.Popen(command, cwd=PROJECT, env=variables)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/health/", process, "granian")
        yield base, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=STOP_SECONDS)


def fetch(url: str) -> tuple[int, bytes]:
    """Return the status and body of a GET of url."""
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a loopback URL of our own
        return response.status, response.read()


def test_granian_serves_health_and_the_same_openapi_document_as_django(
    production: dict[str, str], document: dict[str, Any]
) -> None:
    with granian(production) as (base, _):
        health_status, _ = fetch(f"{base}/health/")
        schema_status, body = fetch(f"{base}/api/schema/?format=json")

    assert health_status == 200
    assert schema_status == 200
    assert json.loads(body)["paths"] == document["paths"]


def test_granian_stops_on_sigterm_with_status_0_and_its_port_closed(production: dict[str, str]) -> None:
    with granian(production) as (base, process):
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=STOP_SECONDS)

        with pytest.raises(OSError, match="refused"):
            fetch(f"{base}/health/")

    assert status == 0


def test_granian_alone_answers_every_normal_request_while_100_slow_headers_hang_on(
    production: dict[str, str],
) -> None:
    with granian(production, workers=1) as (base, _):
        port = int(base.rpartition(":")[2])
        with slow_headers(port, 100):
            time.sleep(HEAD_START)
            outcome = normal_requests(port, duration=3, timeout=5)

    assert outcome.failures == []
    assert outcome.answered > 0


def test_granian_alone_answers_nothing_while_one_slow_body_holds_its_worker(production: dict[str, str]) -> None:
    with granian(production, workers=1) as (base, _):
        port = int(base.rpartition(":")[2])
        assert get(port, "/health/", timeout=10) == 200

        with slow_bodies(port, 1):
            time.sleep(HEAD_START)
            with pytest.raises(TimeoutError):
                get(port, "/health/", timeout=3)


@pytest.mark.parametrize(
    ("bind", "address"),
    [
        ("127.0.0.1:8000", ["--host", "127.0.0.1", "--port", "8000"]),
        ("[::1]:8001", ["--host", "::1", "--port", "8001"]),
        ("unix:/run/app/granian.sock", ["--uds", "/run/app/granian.sock"]),
    ],
)
def test_granian_binds_where_gunicorn_bind_says(bind: str, address: list[str]) -> None:
    arguments = granian_arguments("app:application", {"GUNICORN_BIND": bind})

    assert arguments[: len(address)] == address


def test_granian_takes_workers_grace_and_log_level_from_gunicorn_variables() -> None:
    environ = {"GUNICORN_WORKERS": "3", "GUNICORN_GRACEFUL_TIMEOUT": "12", "GUNICORN_LOG_LEVEL": "warning"}

    arguments = granian_arguments("app:application", environ)

    assert {"--workers=3", "--workers-kill-timeout=12", "--log-level=warning", "--interface=wsgi"} <= set(arguments)
    assert "--access-log" not in arguments
    assert arguments[-1] == "app:application"


def test_granian_logs_access_when_gunicorn_access_log_is_set() -> None:
    assert "--access-log" in granian_arguments("app:application", {"GUNICORN_ACCESS_LOG": "-"})
