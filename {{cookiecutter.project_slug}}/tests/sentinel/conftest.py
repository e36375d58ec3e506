"""The failover suite's world: a Redis primary, replica and sentinels of its own, the project served through them.

gunicorn (production settings, 3 workers) reaches the cache only through the sentinels: ``REDIS_URL`` names their
service, ``REDIS_SENTINELS`` lists them. PostgreSQL is the server of ``SENTINEL_TEST_DATABASE_URL`` (by default the
local one), in a database the suite creates afresh. Without redis-server, redis-sentinel or that server the suite
skips, unless ``REQUIRE_SENTINEL=1`` makes that a failure (as in CI).
"""

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from tests.chaos.conftest import UNTHROTTLED
from tests.chaos.faults import kill_leftover_gunicorn
from tests.conftest import required_program
from tests.perf.servers import PROJECT, free_port, gunicorn, prepare, production_env
from tests.sentinel.topology import SERVICE, Topology

DATABASE_URL = os.environ.get("SENTINEL_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sentinel_e2e")
WORKERS = 3
INSTALL_HINT = "apt-get install redis-server redis-sentinel"
FIGURES_KEY = pytest.StashKey[list[dict[str, Any]]]()
SEEDED_KEY = pytest.StashKey[dict[str, Any]]()


@dataclass(frozen=True)
class World:
    """The served project, its Redis topology, and the seeded accounts and articles."""

    port: int
    topology: Topology
    seeded: dict[str, Any]
    database_url: str
    variables: dict[str, str]


@pytest.fixture(scope="session")
def programs() -> tuple[str, str]:
    """Return redis-server and redis-sentinel; skip without them, or fail when REQUIRE_SENTINEL=1."""
    found = []
    for name in ("redis-server", "redis-sentinel"):
        found.append(required_program(shutil.which(name), f"{name} not found: {INSTALL_HINT}", "REQUIRE_SENTINEL"))
    return found[0], found[1]


@pytest.fixture(scope="session")
def database_url() -> str:
    """Return the URL of a database created afresh for the suite; skip (or fail) when its server does not answer."""
    parts = urlsplit(DATABASE_URL)
    name = parts.path.strip("/")
    try:
        with psycopg.connect(DATABASE_URL.replace(parts.path, "/postgres", 1), autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        required_program(None, f"PostgreSQL does not answer at {DATABASE_URL}: {exc}".strip(), "REQUIRE_SENTINEL")
    return DATABASE_URL


@pytest.fixture
def world(
    request: pytest.FixtureRequest,
    programs: tuple[str, str],
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    """Start the topology and gunicorn through it, with the variables the test passes as its parameter."""
    folder = tmp_path_factory.mktemp("sentinel")
    topology = Topology(folder, *programs)
    try:
        topology.start()
        pidfile = folder / "gunicorn.pid"
        variables: dict[str, str] = getattr(request, "param", {})
        env = production_env(
            DATABASE_URL=database_url,
            REDIS_URL=f"redis://{SERVICE}/0",
            REDIS_SENTINELS=topology.sentinels,
            DJANGO_SERVER_TIMING="on",
            GUNICORN_CMD_ARGS=f"--pid {pidfile}",
            **UNTHROTTLED,
            **variables,
        )
        seeded = _seeded(request.config, env)
        # Bumps an earlier test left pending belong to its Redis, gone now: landed here, they would repair this test's
        # losses behind its back.
        with psycopg.connect(database_url, autocommit=True) as connection:
            connection.execute("DELETE FROM core_pendinginvalidation")
        try:
            port = free_port()
            with gunicorn(port, workers=WORKERS, env=env, log=folder / "gunicorn.log"):
                yield World(port, topology, seeded, database_url, variables)
        finally:
            kill_leftover_gunicorn(pidfile)
    finally:
        topology.stop()


def _seeded(config: pytest.Config, env: dict[str, str]) -> dict[str, Any]:
    """Migrate and seed the database once per session; return the accounts and articles seeded."""
    if SEEDED_KEY not in config.stash:
        prepare(env)
        seed = [sys.executable, "-m", "tests.chaos.ledger", "seed"]
        result = subprocess.run(seed, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120, check=True)
        config.stash[SEEDED_KEY] = json.loads(result.stdout)
    return config.stash[SEEDED_KEY]


@pytest.fixture(scope="session")
def failover_figures(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    """Return the list each failover adds its figures to; they are printed after the results."""
    return request.config.stash.setdefault(FIGURES_KEY, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Print each failover's figures after the test results."""
    figures = config.stash.get(FIGURES_KEY, [])
    if figures:
        terminalreporter.write_sep("=", "Redis primary killed under load")
        for row in figures:
            terminalreporter.write_line(", ".join(f"{name} {value}" for name, value in row.items()))
