"""``make bench-fanout``: what ASGI gains on the one endpoint that fans out, and what it costs the rest.

A local slow upstream (tests/perf/slow_upstream.py) answers after ``--delay`` seconds. Two servers run side by side
on ``settings.bench`` (the configured database and cache, seeded with the demo data): gunicorn (gunicorn.conf.py, as
``make serve``) and granian's ASGI interface (as ``make serve-asgi``), with the same number of workers. wrk then
loads, in turn for several rounds (each round starting from another row), and the runner reports medians of each:

- ``GET /api/overview/`` (async: the stats and the upstream at once) under ASGI, and under gunicorn;
- its sync twin ``/bench/overview-sync/`` (tests/perf/sequential_overview.py: the stats, then the upstream) under
  gunicorn, and under ASGI;
- a cached read, ``/api/articles/`` warm, under each server: a view that waits on nothing.

It prints a table and writes ``var/bench/fanout.json``. It reports speed; it asserts none.
"""

import argparse
import json
import statistics
import sys
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.perf.load import LoadResult, add_load_options, load_generator, rounds_in_turn, run_load
from tests.perf.servers import PROJECT, granian_asgi, gunicorn, manage, prepare, production_env, served_workers
from tests.perf.slow_upstream import slow_upstream

RESULTS = PROJECT / "var" / "bench" / "fanout.json"
PORTS = {"gunicorn": 8121, "granian ASGI": 8122}
SERVERS = {"gunicorn": gunicorn, "granian ASGI": granian_asgi}
SEED_ARTICLES = 200
WARM_UP_SECONDS = 1.0
ASYNC = "/api/overview/"
SEQUENTIAL = "/bench/overview-sync/"
CACHED = "/api/articles/"


@dataclass
class Row:
    """One endpoint under one server, and its load runs."""

    label: str
    server: str
    path: str
    runs: list[LoadResult] = field(default_factory=list)

    def median(self, name: str) -> float:
        """Return the median over the rounds of one LoadResult field."""
        return float(statistics.median(getattr(run, name) for run in self.runs))

    def summary(self) -> dict[str, Any]:
        """Return the row's medians, as written to the JSON file."""
        medians = {name: self.median(name) for name in ("requests_per_second", "p50_ms", "p99_ms")}
        return {"label": self.label, "server": self.server, "path": self.path, **medians, "errors": self.errors}

    @property
    def errors(self) -> int:
        """Return the non-2xx responses and socket errors of every round."""
        return sum(run.errors for run in self.runs)


ROWS = [
    Row("async fan-out", "granian ASGI", ASYNC),
    Row("sync sequential", "gunicorn", SEQUENTIAL),
    Row("async view under WSGI", "gunicorn", ASYNC),
    Row("sync view under ASGI", "granian ASGI", SEQUENTIAL),
    Row("cached read", "gunicorn", CACHED),
    Row("cached read", "granian ASGI", CACHED),
]


def main() -> None:
    """Start the upstream and both servers, check, measure and report."""
    options = _parse_arguments()
    generator = load_generator()
    with slow_upstream(delay=options.delay) as upstream, ExitStack() as servers:
        env = production_env(
            DJANGO_SETTINGS_MODULE="settings.bench",
            DJANGO_TOOLS="",
            DJANGO_SERVER_TIMING="off",
            DJANGO_API_UPSTREAM_URL=upstream.url(),
            # The overview is not cached, so the throttles (both count anonymous clients) would answer most of the
            # load with a 429; per second, each request reads and writes a history of one second of requests.
            DJANGO_THROTTLE_ANON="1000000/second",
            DJANGO_THROTTLE_USER="1000000/second",
        )
        prepare(env)
        manage("seed_demo", "--articles", str(SEED_ARTICLES), env=env)
        bases = {
            name: servers.enter_context(serve(PORTS[name], workers=options.workers, env=env))
            for name, serve in SERVERS.items()
        }
        for row in ROWS:
            _check(bases[row.server] + row.path)
            run_load(bases[row.server] + row.path, duration=WARM_UP_SECONDS, connections=options.connections)
        for round_number, index in rounds_in_turn(len(ROWS), options.rounds):
            row = ROWS[index]
            print(f"round {round_number}: {row.label}, {row.server}", file=sys.stderr)
            row.runs.append(
                run_load(bases[row.server] + row.path, duration=options.duration, connections=options.connections)
            )
    settings = {**vars(options), "generator": generator, "database": _database(env)}
    print(table(ROWS, settings))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    measured = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "settings": settings}
    RESULTS.write_text(json.dumps({**measured, "rows": [row.summary() for row in ROWS]}, indent=2) + "\n")
    print(f"Written to {RESULTS.relative_to(PROJECT)}")


def _check(url: str) -> None:
    """Raise unless url answers 200, with the upstream available when it is an overview."""
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a loopback URL of our own
        body = json.loads(response.read())
    if "upstream" in body and not body["upstream"]["available"]:
        raise RuntimeError(f"{url}: the upstream is unavailable ({body['upstream']['reason']}): nothing to measure")


def _database(env: dict[str, str]) -> str:
    """Return which database and cache the servers use."""
    database = "PostgreSQL" if env.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    return f"{database} + {'Redis' if env.get('REDIS_URL') else 'file cache'}"


def table(rows: list[Row], settings: dict[str, Any]) -> str:
    """Return the rows' medians as a Markdown table, with the ratios that answer "where does ASGI pay"."""
    lines = [
        f"Upstream delay {settings['delay'] * 1000:.0f} ms; {settings['workers']} workers per server; "
        f"{settings['connections']} connections; {settings['rounds']} rounds of {settings['duration']} s; "
        f"{settings['database']}; {settings['generator']}. Medians over the rounds.",
        "",
        "| endpoint | server | path | req/s | p50 ms | p99 ms | errors |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.label} | {row.server} | {row.path} | {row.median('requests_per_second'):.0f} "
            f"| {row.median('p50_ms'):.1f} | {row.median('p99_ms'):.1f} | {row.errors} |"
        )
    fan_out, sequential = rows[0], rows[1]
    cached = {row.server: row for row in rows if row.path == CACHED}
    lines += [
        "",
        f"Fan-out (async under ASGI vs sync under gunicorn): p50 {_ratio(fan_out, sequential, 'p50_ms')} "
        f"the latency, {_ratio(fan_out, sequential, 'requests_per_second')} the req/s.",
        f"Cached read (ASGI vs gunicorn): {_ratio(cached['granian ASGI'], cached['gunicorn'], 'requests_per_second')} "
        f"the req/s, p50 {_ratio(cached['granian ASGI'], cached['gunicorn'], 'p50_ms')} the latency.",
    ]
    return "\n".join(lines)


def _ratio(row: Row, other: Row, name: str) -> str:
    """Return row's median of name over other's, as "0.52x"."""
    return f"{row.median(name) / other.median(name):.2f}x"


def _parse_arguments() -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_load_options(parser)
    parser.add_argument("--delay", type=float, default=0.08, help="the upstream's delay, seconds (default: 0.08)")
    parser.set_defaults(workers=served_workers())
    return parser.parse_args()


if __name__ == "__main__":
    main()
