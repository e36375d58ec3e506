"""``make bench-refresh``: the share of cache misses after writes, refresh-ahead off and on, under reads and writes.

Two gunicorns of the project (production settings, no miss budget, the configured PostgreSQL and Redis) serve the same
database, each with a cache of its own (its own key prefix): one with ``DJANGO_API_REFRESH_AHEAD=off``, the other with
it on and a real Celery worker (``celery -A core worker``) on a queue of its own. In each round each server in turn
takes the same load: a writer PATCHes an article's title at a steady pace while readers read the article list's first
page (``/api/articles/``, anonymous, no query string) at each read rate in turn (random, exponential gaps; 0: as fast
as they are answered). A read is a hit when its Server-Timing counts no query; it is counted against the last write
sent before it started. The medians over the rounds are tabled and written to ``var/bench/refresh-ahead.json``. It
reports; it asserts nothing.
"""

import argparse
import http.client
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from deploy.supervise import stop
from tests.perf import edge_writes
from tests.perf.edge_writes import request_json
from tests.perf.servers import PROJECT, SERVERS, free_port, manage, prepare, production_env

RESULTS = PROJECT / "var" / "bench"
LIST = "/api/articles/"
MODES = ("off", "on")
SEED_ARTICLES = 200
READY_SECONDS = 60
# Server-Timing's database part: ``db;dur=0.000;desc="0 queries"``.
QUERIES = re.compile(r'db;dur=[\d.]+;desc="(\d+) quer')


@dataclass(frozen=True)
class Read:
    """One read of the list: when it started, how long it took, whether it was a hit."""

    started: float
    ms: float
    hit: bool


@dataclass(frozen=True)
class Phase:
    """What one server did under one round's load: reads after writes, their misses, their latencies in ms."""

    writes: int
    reads: int
    misses: int
    writes_followed_by_a_miss: int
    read_p50_ms: float
    read_p99_ms: float
    miss_p50_ms: float

    @property
    def miss_share(self) -> float:
        """Return the share of reads after writes that missed."""
        return self.misses / self.reads if self.reads else 0.0


def phase(writes: list[float], reads: list[Read]) -> Phase:
    """Return the phase's figures: each read counted against the last write sent before it started.

    Sent, not answered: the write's bump lands before its answer reaches the writer, and readers may miss meanwhile.
    """
    counted = [read for read in reads if writes and read.started >= writes[0]]
    latencies = [read.ms for read in counted] or [0.0]
    missed = [read for read in counted if not read.hit]
    ends = [*writes[1:], float("inf")]
    followed = sum(1 for start, end in zip(writes, ends, strict=True) if any(start <= r.started < end for r in missed))
    return Phase(
        writes=len(writes),
        reads=len(counted),
        misses=len(missed),
        writes_followed_by_a_miss=followed,
        read_p50_ms=statistics.median(latencies),
        read_p99_ms=_p99(latencies),
        miss_p50_ms=statistics.median(read.ms for read in missed) if missed else 0.0,
    )


def _p99(values: list[float]) -> float:
    """Return the 99th percentile (the value itself for fewer than two)."""
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]


def read_once(base: str) -> Read:
    """Return one anonymous read of the list's first page."""
    address = base.removeprefix("http://")
    started = time.perf_counter()
    connection = http.client.HTTPConnection(address, timeout=30)
    try:
        connection.request("GET", LIST)
        response = connection.getresponse()
        response.read()
        timing = response.getheader("Server-Timing") or ""
    finally:
        connection.close()
    queries = QUERIES.search(timing)
    if response.status != http.HTTPStatus.OK or queries is None:
        raise RuntimeError(f"GET {LIST} answered {response.status} with Server-Timing {timing!r}")
    return Read(started, (time.perf_counter() - started) * 1000, hit=queries.group(1) == "0")


def load(base: str, *, token: str, article: int, writes: int, interval: float, readers: int, rate: float) -> Phase:
    """Return the figures of ``writes`` PATCHes ``interval`` s apart, ``readers`` reading ``rate`` times a second."""
    read_once(base)  # warm
    stop = threading.Event()
    reads: list[Read] = []

    def reader() -> None:
        while not stop.is_set():
            if rate:
                stop.wait(random.expovariate(rate / readers))
            reads.append(read_once(base))

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(readers)]
    for thread in threads:
        thread.start()
    sent: list[float] = []
    path = f"/api/articles/{article}/"
    next_write = time.perf_counter()
    try:
        for number in range(writes):
            time.sleep(max(0.0, next_write - time.perf_counter()))
            next_write += interval
            sent.append(time.perf_counter())
            _patch(base, path, token, f"Refresh-ahead write {number}")
        time.sleep(interval)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    return phase(sent, reads)


def _patch(base: str, path: str, token: str, title: str) -> None:
    """Change the article's title; raise unless the server answers 200."""
    status, body = request_json(base, "PATCH", path, {"title": title}, {"Authorization": f"Token {token}"})
    if status != http.HTTPStatus.OK:
        raise RuntimeError(f"PATCH {path} answered {status}: {body}")


@contextmanager
def celery_worker(env: dict[str, str], log: Path) -> Iterator[None]:
    """Run ``celery -A core worker`` on the environment's queue until the block ends; wait until it answers a ping."""
    command = [sys.executable, "-m", "celery", "-A", "core", "worker", "--concurrency", "1", "--loglevel", "WARNING"]
    command += ["--without-mingle", "--without-gossip"]
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=output, stderr=output, start_new_session=True)
        try:
            _wait_for_worker(env)
            yield
        finally:
            stop(process, group=True)


def _wait_for_worker(env: dict[str, str]) -> None:
    """Return once a worker on the environment's broker and queue answers a ping."""
    from celery import Celery

    from core.plumbing.tasks import broker_url

    broker = broker_url(env)
    client = Celery(broker=broker, backend=broker, set_as_current=False)
    client.send_task("core.tasks.ping", queue=env["CELERY_TASK_DEFAULT_QUEUE"]).get(timeout=READY_SECONDS)


def require_backends() -> None:
    """Stop with one line unless PostgreSQL and Redis are configured: the worker needs a broker, the load a server."""
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("make bench-refresh needs REDIS_URL (the cache and the workers' broker) and DATABASE_URL.")
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        raise SystemExit("make bench-refresh needs DATABASE_URL naming PostgreSQL (with REDIS_URL).")


def main() -> None:
    """Start both servers and the worker, load them in turn for several rounds, report the medians."""
    options = _parse_arguments()
    require_backends()
    run = secrets.token_hex(4)
    base_env = production_env(
        DJANGO_SERVER_TIMING="on", DJANGO_API_CACHE_MISS_RATE="", DJANGO_API_CACHE_STALE_IF_ERROR="0"
    )
    envs = {
        mode: base_env
        | {
            "DJANGO_API_REFRESH_AHEAD": mode,
            "DJANGO_CACHE_KEY_PREFIX": f"bench-refresh-{mode}-{run}",
            "CELERY_TASK_DEFAULT_QUEUE": f"bench-refresh-{run}",
        }
        for mode in MODES
    }
    manage("ensure_database", env=base_env)
    prepare(base_env)
    manage("seed_demo", "--articles", str(SEED_ARTICLES), env=base_env)
    os.environ.update(base_env)
    import django

    django.setup()
    token, article = edge_writes.writer()
    RESULTS.mkdir(parents=True, exist_ok=True)
    with ExitStack() as running:
        running.callback(forget, run, base_env)
        running.enter_context(celery_worker(envs["on"], RESULTS / "refresh-ahead-worker.log"))
        bases = {
            mode: running.enter_context(SERVERS["gunicorn"](free_port(), workers=options.workers, env=envs[mode]))
            for mode in MODES
        }
        rounds: dict[tuple[float, str], list[Phase]] = {}
        for number in range(options.rounds):
            for rate in options.read_rates:
                # Each round starts with the other mode, so neither always runs on a fresher machine.
                for mode in MODES[number % 2 :] + MODES[: number % 2]:
                    result = load(
                        bases[mode],
                        token=token,
                        article=article,
                        writes=options.writes,
                        interval=options.interval,
                        readers=options.readers,
                        rate=rate,
                    )
                    rounds.setdefault((rate, mode), []).append(result)
                    print(f"round {number + 1}, {rate:g} reads/s, refresh-ahead {mode}: {result.misses} misses")
    report(rounds, vars(options))


def forget(run: str, env: dict[str, str]) -> None:
    """Delete what the run left in Redis: its versions (kept with no expiry) and entries, its queue."""
    from redis import Redis

    from core.plumbing.tasks import broker_url

    cache = Redis.from_url(env["REDIS_URL"])
    for mode in MODES:
        for key in cache.scan_iter(match=f"bench-refresh-{mode}-{run}:*", count=1000):
            cache.delete(key)
    queue = f"bench-refresh-{run}"
    Redis.from_url(broker_url(env)).delete(f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}", queue)


def medians(phases: list[Phase]) -> dict[str, float]:
    """Return the median of each figure over the rounds, and of the miss share."""
    figures = {name: statistics.median(getattr(p, name) for p in phases) for name in asdict(phases[0])}
    return figures | {"miss_share": statistics.median(p.miss_share for p in phases)}


def report(rounds: dict[tuple[float, str], list[Phase]], settings: dict[str, object]) -> None:
    """Print the table and write the JSON file."""
    rows = [
        {"read_rate": rate, "refresh_ahead": mode, **medians(phases), "rounds": [asdict(p) for p in phases]}
        for (rate, mode), phases in sorted(rounds.items())
    ]
    lines = [
        "| reads/s | refresh-ahead | writes | reads after writes | misses | miss share | writes followed by a miss "
        "| read p50 | read p99 | miss p50 |",
        "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        rate = f"{row['read_rate']:g}" if row["read_rate"] else "as answered"
        lines.append(
            f"| {rate} | {row['refresh_ahead']} | {row['writes']:.0f} | {row['reads']:.0f} | {row['misses']:.0f} "
            f"| {row['miss_share']:.1%} | {row['writes_followed_by_a_miss']:.0f} | {row['read_p50_ms']:.2f} ms "
            f"| {row['read_p99_ms']:.2f} ms | {row['miss_p50_ms']:.2f} ms |"
        )
    print("\n".join(lines))
    document = {"settings": settings, "results": rows}
    (RESULTS / "refresh-ahead.json").write_text(json.dumps(document, indent=2) + "\n")
    print(f"Written to {RESULTS / 'refresh-ahead.json'}")


def _parse_arguments() -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--writes", type=int, default=40, help="writes per server and round (default: %(default)s)")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between writes (default: %(default)s)")
    parser.add_argument("--readers", type=int, default=2, help="concurrent readers (default: %(default)s)")
    parser.add_argument(
        "--read-rates",
        type=lambda text: [float(rate) for rate in text.split(",")],
        default=[20.0, 100.0, 0.0],
        help="reads a second, all readers together, one load each; 0: as fast as answered (default: 20,100,0)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds, medians reported (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server (default: %(default)s)")
    return parser.parse_args()


if __name__ == "__main__":
    main()
