"""Servers for benchmarks and fuzzing: the project's gunicorn or granian on loopback, with the production settings."""

import os
import runpy
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60


def production_env(**variables: str) -> dict[str, str]:
    """Return the environment of a production-settings process on loopback (DATABASE_URL, REDIS_URL and .env apply)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "GUNICORN_"))}
    # The pooler in front of DATABASE_URL's server is part of where the database is, as DATABASE_URL is.
    if "DJANGO_DB_POOLER" in os.environ:
        environment["DJANGO_DB_POOLER"] = os.environ["DJANGO_DB_POOLER"]
    return environment | {
        "DJANGO_SETTINGS_MODULE": "settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        # .env may name the database and the cache; the values set here win over it.
        "DJANGO_READ_DOT_ENV_FILE": "true",
        # The harnesses load and fault the application itself: a log line per request would flood their output and
        # add its own cost (README, "Errors and logs", measures it).
        "DJANGO_REQUEST_LOG": "off",
        # No worker runs beside these servers: refresh-ahead would queue tasks no one takes (refresh_ahead.py turns it
        # on, with a worker).
        "DJANGO_API_REFRESH_AHEAD": "off",
        **variables,
    }


def served_workers() -> int:
    """Return the workers ``make serve`` starts here: gunicorn.conf.py's (``2 x cores + 1``, or GUNICORN_WORKERS)."""
    workers: int = runpy.run_path(str(PROJECT / "gunicorn.conf.py"))["workers"]
    return workers


def manage(*args: str, env: Mapping[str, str]) -> None:
    """Run a management command in a process of its own; raise if it fails."""
    subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT, env=dict(env), check=True)


def prepare(env: Mapping[str, str]) -> None:
    """Migrate the database and collect the static files, as ``make serve`` does before it starts gunicorn."""
    manage("migrate", "--noinput", "--verbosity", "0", env=env)
    manage("collectstatic", "--noinput", "--verbosity", "0", env=env)


def free_port() -> int:
    """Return a loopback port no one listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def gunicorn(
    port: int, *, workers: int, env: Mapping[str, str], app: str | None = None, log: Path | None = None
) -> Iterator[str]:
    """Serve the project with gunicorn.conf.py on 127.0.0.1:port; yield its base URL, stop it afterwards.

    The server's output goes to ``log`` when given, else to this process's.
    """
    # An application named on the command line replaces gunicorn.conf.py's wsgi_app.
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *([app] if app else [])]
    with _serve(command, port, workers=workers, env=env, log=log) as base:
        yield base


@contextmanager
def granian(
    port: int, *, workers: int, env: Mapping[str, str], app: str | None = None, log: Path | None = None
) -> Iterator[str]:
    """Serve the project with granian (deploy/granian_server.py) on 127.0.0.1:port, as gunicorn() does."""
    command = [sys.executable, "-m", "deploy.granian_server", *([app] if app else [])]
    with _serve(command, port, workers=workers, env=env, log=log) as base:
        yield base


@contextmanager
def granian_asgi(
    port: int, *, workers: int, env: Mapping[str, str], app: str | None = None, log: Path | None = None
) -> Iterator[str]:
    """Serve the project's ASGI application with granian, as ``make serve-asgi`` does, on 127.0.0.1:port."""
    command = [sys.executable, "-m", "deploy.granian_server", "--interface", "asgi", *([app] if app else [])]
    with _serve(command, port, workers=workers, env=env, log=log) as base:
        yield base


SERVERS = {"gunicorn": gunicorn, "granian": granian}


@contextmanager
def _serve(command: list[str], port: int, *, workers: int, env: Mapping[str, str], log: Path | None) -> Iterator[str]:
    """Run command with gunicorn.conf.py's variables set for 127.0.0.1:port; yield its base URL, then SIGTERM it."""
    variables = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers)}
    variables["GUNICORN_LOG_LEVEL"] = "warning"
    with log.open("w") if log else nullcontext() as output:
        process = subprocess.Popen(command, cwd=PROJECT, env=variables, stdout=output, stderr=output)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(f"{base}/health/", process, name=command[2])
            yield base
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def wait_until_up(url: str, process: subprocess.Popen[bytes], name: str) -> None:
    """Return once the server answers at url; raise if it exits or takes too long."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - a loopback URL of our own
                return
        except urllib.error.HTTPError:
            return  # it answers, if unhappily: good enough to load it
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"no answer from {url} within {STARTUP_SECONDS} s")
