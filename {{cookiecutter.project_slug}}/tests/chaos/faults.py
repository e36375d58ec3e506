"""The faults: each injected into the suite's own Redis, PostgreSQL or gunicorn, held a few seconds, then ended."""

import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tests.chaos.instances import PostgresCluster, RedisServer

WORKERS = 3
WORKER_RESPAWN_SECONDS = 15.0
# How long a lasting fault is held, and how long the load goes on after a momentary one (a restart, a kill).
HOLD_SECONDS = 3.0
MOMENT = 1.5
# Longer than any pause the suite lifts itself, so a suite that dies mid-fault leaves Redis paused a minute at most.
PAUSE_BOUND_SECONDS = 60


@dataclass(frozen=True)
class World:
    """The served project and everything the faults act on."""

    base: str
    env: dict[str, str]
    postgres: PostgresCluster
    redis: RedisServer
    gunicorn_pidfile: Path
    writer_token: str
    prober_token: str
    prober_author: int
    probe: int
    articles: list[int]


@dataclass(frozen=True)
class Fault:
    """A fault: inject it, hold it ``hold`` seconds under load, recover from it."""

    name: str
    title: str
    target: Literal["redis", "postgres", "gunicorn"]
    hold: float
    inject: Callable[[World], None]
    recover: Callable[[World], None]

    @property
    def database_outage(self) -> bool:
        """Return whether the database is unreachable meanwhile: then a 503 with Retry-After is the right answer."""
        return self.target == "postgres"


def _nothing(world: World) -> None:
    """Recover from a fault that ends by itself."""


def _stop_redis(world: World) -> None:
    """Stop Redis; without persistence it comes back empty."""
    world.redis.stop()


def _start_redis(world: World) -> None:
    """Start Redis again."""
    world.redis.start()


def _fill_redis(world: World) -> None:
    """Refuse every Redis write with an out-of-memory error (maxmemory far below what is used, noeviction)."""
    client = world.redis.client()
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", 1)


def _unfill_redis(world: World) -> None:
    """Lift the memory limit again."""
    world.redis.client().config_set("maxmemory", 0)


def _pause_writes(world: World) -> None:
    """Hold every Redis write (reads still answer) until recovery lifts the pause; its length only bounds it."""
    world.redis.client().client_pause(int(PAUSE_BOUND_SECONDS * 1000), all=False)


def _unpause(world: World) -> None:
    """Lift the pause."""
    world.redis.client().client_unpause()


def _restart_postgres(world: World) -> None:
    """Restart PostgreSQL the fast way: open transactions roll back, every connection is closed."""
    world.postgres.restart()


def _stop_postgres(world: World) -> None:
    """Stop PostgreSQL the fast way."""
    world.postgres.stop()


def _start_postgres(world: World) -> None:
    """Start PostgreSQL again."""
    world.postgres.start()


def gunicorn_workers(pidfile: Path) -> list[int]:
    """Return the process ids of the workers of the gunicorn master whose pid file this is."""
    master = pidfile.read_text().strip()
    pgrep = shutil.which("pgrep") or "pgrep"
    found = subprocess.run([pgrep, "-P", master], capture_output=True, text=True, check=False).stdout
    return [int(pid) for pid in found.split()]


def kill_leftover_gunicorn(pidfile: Path) -> None:
    """Kill a gunicorn master and its workers that outlived their graceful stop (a clean exit removes the file)."""
    if not pidfile.exists():
        return
    for pid in [*gunicorn_workers(pidfile), int(pidfile.read_text().strip())]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue


def _kill_worker(world: World) -> None:
    """Kill one gunicorn worker with SIGKILL: the request it serves is lost, gunicorn starts another worker."""
    os.kill(random.choice(gunicorn_workers(world.gunicorn_pidfile)), signal.SIGKILL)  # noqa: S311 - any worker will do


def _wait_for_workers(world: World) -> None:
    """Return once gunicorn runs all its workers again."""
    deadline = time.monotonic() + WORKER_RESPAWN_SECONDS
    while len(gunicorn_workers(world.gunicorn_pidfile)) < WORKERS and time.monotonic() < deadline:
        time.sleep(0.1)


FAULTS = [
    Fault("redis_stopped", "Redis stopped 3 s, restarted", "redis", HOLD_SECONDS, _stop_redis, _start_redis),
    Fault("redis_out_of_memory", "Redis out of memory 3 s", "redis", HOLD_SECONDS, _fill_redis, _unfill_redis),
    Fault("redis_writes_paused", "Redis writes paused 3 s", "redis", HOLD_SECONDS, _pause_writes, _unpause),
    Fault("postgres_restarted", "PostgreSQL restarted (fast)", "postgres", MOMENT, _restart_postgres, _nothing),
    Fault("postgres_down", "PostgreSQL down 3 s", "postgres", HOLD_SECONDS, _stop_postgres, _start_postgres),
    Fault("worker_killed", "a gunicorn worker killed", "gunicorn", MOMENT, _kill_worker, _wait_for_workers),
]
