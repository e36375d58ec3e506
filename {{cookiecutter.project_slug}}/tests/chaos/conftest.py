"""The fault suite's world: its own PostgreSQL and Redis on free ports, the project served by gunicorn on them.

Nothing here touches the shared servers: the faults stop, fill and pause only what this suite started, and every
process it started is stopped when the session ends, failed or not.
"""

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.chaos.faults import WORKERS, World, kill_leftover_gunicorn
from tests.chaos.instances import PostgresCluster, RedisServer, postgres_bindir
from tests.chaos.report import Figures, table, write_results
from tests.perf.servers import PROJECT, free_port, gunicorn, prepare, production_env

RESULTS = PROJECT / "var" / "chaos"
RESULTS_KEY = pytest.StashKey[list[Figures]]()
LEGEND = (
    "Faults under load (make chaos): 4 readers and 2 writers against gunicorn (3 sync workers, production settings)"
    " on the suite's own PostgreSQL and Redis. In flight at the fault: requests started before its injection returned"
    " and ended after it began."
)
# The load writes far faster than the default rates allow a user or an address; throttling is not under test here.
# Every reader and writer comes from one address: raise the per-client limits, the cache-miss budget included.
UNTHROTTLED = dict.fromkeys(
    ("DJANGO_THROTTLE_USER", "DJANGO_THROTTLE_COMMENTS", "DJANGO_API_CACHE_MISS_RATE"), "100000/minute"
)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Start PostgreSQL, Redis and gunicorn of the suite's own, seed the database; stop them all afterwards."""
    bindir = postgres_bindir()
    if bindir is None or shutil.which("redis-server") is None:
        pytest.fail("make chaos needs PostgreSQL's server programs (initdb, pg_ctl) and redis-server installed")
    with ExitStack() as stack:
        postgres = PostgresCluster(bindir, free_port())
        stack.callback(postgres.remove)
        postgres.create()
        redis = RedisServer(free_port())
        stack.callback(redis.remove)
        redis.start()
        pidfile = tmp_path_factory.mktemp("gunicorn") / "master.pid"
        env = production_env(
            DATABASE_URL=postgres.url, REDIS_URL=redis.url, GUNICORN_CMD_ARGS=f"--pid {pidfile}", **UNTHROTTLED
        )
        prepare(env)
        seeded = json.loads(
            subprocess.run(
                [sys.executable, "-m", "tests.chaos.ledger", "seed"],
                cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120, check=True,
            ).stdout
        )  # fmt: skip
        # Runs after gunicorn's own stop: whatever of it is still alive then is killed.
        stack.callback(kill_leftover_gunicorn, pidfile)
        base = stack.enter_context(gunicorn(free_port(), workers=WORKERS, env=env))
        yield World(base=base, env=env, postgres=postgres, redis=redis, gunicorn_pidfile=pidfile, **seeded)


@pytest.fixture(scope="session")
def chaos_results(request: pytest.FixtureRequest) -> Iterator[list[Figures]]:
    """Collect each fault's figures; write them to var/chaos/ at the end of the session."""
    results = request.config.stash.setdefault(RESULTS_KEY, [])
    yield results
    write_results(results, RESULTS, legend=LEGEND)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Print the faults' table after the test results."""
    results = config.stash.get(RESULTS_KEY, [])
    if results:
        terminalreporter.write_sep("=", "faults under load")
        terminalreporter.write_line(table(results))
        terminalreporter.write_line(f"written to {RESULTS.relative_to(PROJECT)}/results.md and results.json")
