"""The replicas suite's world: a PostgreSQL primary and its streaming replica of the suite's own, gunicorn on both.

The primary is a cluster made by initdb (wal_level replica, replication allowed from 127.0.0.1); the replica is
``pg_basebackup -R`` of it on another free port, logging every statement it runs, so a test can tell which reads
reached it. The project is served by gunicorn with DATABASE_URL on the primary, DATABASE_REPLICA_URLS on the replica
and Redis database 10 of the shared server (flushed first). Without PostgreSQL's server programs or Redis the suite
skips, unless ``REQUIRE_REPLICAS=1`` makes that a failure.
"""

import http.client
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import redis

from core.toolkit.caching import CachedResponse
from tests.chaos.faults import kill_leftover_gunicorn
from tests.chaos.instances import DATABASE, POSTGRES_USER, PostgresCluster, postgres_bindir
from tests.perf.servers import PROJECT, free_port, gunicorn, prepare, production_env

REDIS_URL = "redis://127.0.0.1:6379/10"
WORKERS = 2
# Short, so a test waits out the read-your-writes window in seconds; a failed replica is skipped as long as by default.
WINDOW_SECONDS = 2
RETRY_SECONDS = 5
REPLICA_TIMEOUT = 1
CATCH_UP_SECONDS = 30
FIGURES_KEY = pytest.StashKey[dict[str, str]]()
# Every request comes from one address: the per-client limits are not under test here.
UNTHROTTLED = dict.fromkeys(
    ("DJANGO_THROTTLE_ANON", "DJANGO_THROTTLE_USER", "DJANGO_API_CACHE_MISS_RATE"), "100000/minute"
)


class PrimaryCluster(PostgresCluster):
    """The primary: a cluster that streams its WAL to replicas (initdb's pg_hba.conf trusts replication locally)."""

    def _server_options(self) -> str:
        """Return the cluster's options with WAL kept for a replica."""
        return super()._server_options() + " -c wal_level=replica -c max_wal_senders=4"

    def lsn(self) -> int:
        """Return the primary's WAL position now."""
        with self.connect() as connection:
            row = connection.execute("SELECT pg_current_wal_insert_lsn() - '0/0'").fetchone()
        assert row is not None
        return int(row[0])

    def connect(self) -> psycopg.Connection[Any]:
        """Return a connection to the suite's database on this server."""
        return psycopg.connect(host="127.0.0.1", port=self.port, user=POSTGRES_USER, dbname=DATABASE, autocommit=True)


class ReplicaCluster(PrimaryCluster):
    """A streaming replica of ``primary``, logging every statement it runs."""

    def __init__(self, bindir: Path, port: int, primary: PrimaryCluster) -> None:
        super().__init__(bindir, port)
        self.primary = primary

    def clone(self) -> None:
        """Copy the primary with pg_basebackup -R (a standby.signal and the primary's address), then start it."""
        source = ("-h", "127.0.0.1", "-p", str(self.primary.port), "-U", POSTGRES_USER)
        self._run("pg_basebackup", "-D", str(self.data), "-R", "-X", "stream", "-c", "fast", "--no-sync", *source)
        self.start()

    def _server_options(self) -> str:
        """Return the cluster's options, every statement logged."""
        return super()._server_options() + " -c log_statement=all"

    def stop_immediately(self) -> None:
        """Stop the server as a crash would: no shutdown checkpoint, connections cut."""
        self._pg_ctl("stop", "-m", "immediate")

    def replayed(self) -> int:
        """Return the WAL position the replica has replayed."""
        with self.connect() as connection:
            row = connection.execute("SELECT pg_last_wal_replay_lsn() - '0/0'").fetchone()
        assert row is not None
        return int(row[0])

    def catch_up(self) -> None:
        """Return once the replica runs and has replayed everything the primary wrote so far."""
        if not (self.data / "postmaster.pid").exists():
            self.start()
        target = self.primary.lsn()
        deadline = time.monotonic() + CATCH_UP_SECONDS
        while time.monotonic() < deadline:
            try:
                if self.replayed() >= target:
                    return
            except psycopg.OperationalError:
                pass  # still starting
            time.sleep(0.05)
        raise AssertionError(f"the replica did not replay up to {target} within {CATCH_UP_SECONDS} s")

    @contextmanager
    def replay_paused(self) -> Iterator[None]:
        """Pause the replay of the primary's WAL until the block ends: the replica's rows stay as they are."""
        with self.connect() as connection:
            connection.execute("SELECT pg_wal_replay_pause()")
            while connection.execute("SELECT pg_get_wal_replay_pause_state()").fetchone() != ("paused",):
                time.sleep(0.01)
        try:
            yield
        finally:
            with self.connect() as connection:
                connection.execute("SELECT pg_wal_replay_resume()")

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Stop every process of the replica (SIGSTOP) until the block ends: connections stay open, nothing answers."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        pgrep = shutil.which("pgrep") or "pgrep"
        children = subprocess.run([pgrep, "-P", str(postmaster)], capture_output=True, text=True, check=False)
        processes = [postmaster, *(int(pid) for pid in children.stdout.split())]
        for pid in processes:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in processes:
                os.kill(pid, signal.SIGCONT)

    def logged(self, text: str) -> int:
        """Return how many times ``text`` appears in the statements the replica logged."""
        return self.log.read_text(errors="replace").count(text)


@dataclass
class Answer:
    """A response as a test reads it."""

    status: int
    body: Any
    cookies: dict[str, str]


@dataclass
class Served:
    """The served project, its primary and replica, and what the seed made."""

    base: str
    primary: PrimaryCluster
    replica: ReplicaCluster
    cache: redis.Redis
    writer_token: str
    articles: list[int]

    def send(
        self, method: str, path: str, *, token: str | None = None, cookie: str | None = None, body: Any = None
    ) -> Answer:
        """Return the server's answer to one request."""
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        if cookie:
            headers["Cookie"] = cookie
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection(urlsplit(self.base).netloc, timeout=30)
        try:
            connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = connection.getresponse()
            content = response.read()
            cookies = dict(
                value.split(";", 1)[0].split("=", 1) for value in response.headers.get_all("Set-Cookie") or []
            )
            return Answer(response.status, json.loads(content) if content else None, cookies)
        finally:
            connection.close()

    def get(self, path: str, *, cookie: str | None = None) -> Answer:
        """Return the answer to a GET, which must be a 200."""
        answer = self.send("GET", path, cookie=cookie)
        assert answer.status == 200, (path, answer)
        return answer

    def entries(self) -> list[CachedResponse]:
        """Return every response entry the cache holds (django-redis pickles them)."""
        return [
            entry
            for key in self.cache.scan_iter(match="*response:*")
            if isinstance(entry := _unpickled(self.cache.get(key)), CachedResponse)
        ]


def _unpickled(value: Any) -> Any:
    """Return a cached value as django-redis stored it: an entry, or None for anything else."""
    if not isinstance(value, bytes):
        return None
    try:
        return pickle.loads(value)  # noqa: S301 - the suite's own cache, written by the suite's own server
    except (pickle.UnpicklingError, EOFError, ValueError, AttributeError):
        return None


def _seed(env: dict[str, str]) -> dict[str, Any]:
    """Return what the chaos suite's seed makes: the writer's token and the articles (published, the writer's)."""
    output = subprocess.run(
        [sys.executable, "-m", "tests.chaos.ledger", "seed"],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    seeded: dict[str, Any] = json.loads(output)
    return seeded


def _required(missing: str | None) -> None:
    """Skip the suite for what is missing, or fail it with REQUIRE_REPLICAS=1."""
    if missing is None:
        return
    if os.environ.get("REQUIRE_REPLICAS") == "1":
        pytest.fail(f"{missing} (REQUIRE_REPLICAS=1 requires it)")
    pytest.skip(missing)


def _redis() -> redis.Redis:
    """Return a client of the suite's Redis database, or skip when Redis does not answer."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError:
        _required(f"no Redis at {REDIS_URL}")
    return client


@pytest.fixture(scope="package")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Start the primary, its replica and gunicorn on both; stop them all afterwards."""
    bindir = postgres_bindir()
    if bindir is None or not (bindir / "pg_basebackup").is_file():
        _required("PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup) are not installed")
    assert bindir is not None
    cache = _redis()
    with ExitStack() as stack:
        primary = PrimaryCluster(bindir, free_port())
        stack.callback(primary.remove)
        primary.create()
        replica = ReplicaCluster(bindir, free_port(), primary)
        stack.callback(replica.remove)
        replica.clone()
        cache.flushdb()
        pidfile = tmp_path_factory.mktemp("gunicorn") / "master.pid"
        env = production_env(
            DATABASE_URL=primary.url,
            DATABASE_REPLICA_URLS=replica.url,
            REDIS_URL=REDIS_URL,
            DJANGO_DB_READ_YOUR_WRITES_SECONDS=str(WINDOW_SECONDS),
            DJANGO_DB_REPLICA_RETRY_SECONDS=str(RETRY_SECONDS),
            DJANGO_DB_REPLICA_TIMEOUT=str(REPLICA_TIMEOUT),
            GUNICORN_CMD_ARGS=f"--pid {pidfile}",
            **UNTHROTTLED,
        )
        prepare(env)
        seeded = _seed(env)
        stack.callback(kill_leftover_gunicorn, pidfile)
        port = free_port()
        stack.enter_context(gunicorn(port, workers=WORKERS, env=env))
        stack.callback(cache.flushdb)
        yield Served(
            base=f"http://127.0.0.1:{port}",
            primary=primary,
            replica=replica,
            cache=cache,
            writer_token=seeded["writer_token"],
            articles=seeded["articles"],
        )


@pytest.fixture(scope="session")
def figures(request: pytest.FixtureRequest) -> dict[str, str]:
    """Return the figures the tests measured, printed after the results."""
    return request.config.stash.setdefault(FIGURES_KEY, {})


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Print the figures the tests measured."""
    measured = config.stash.get(FIGURES_KEY, {})
    if measured:
        terminalreporter.write_sep("=", "read replicas")
        for name, value in measured.items():
            terminalreporter.write_line(f"{name}: {value}")
