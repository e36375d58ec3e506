"""``make bench``: the article list at each stage of optimization, served side by side, measured, tabled and charted.

One gunicorn (gunicorn.conf.py, ``settings.bench``, the configured database and cache) serves every stage. The
runner seeds a fixed data set, checks that every stage serves the same items, then loads the stages in turn for
several rounds (each round starting from another stage) and reports medians. Per stage it also records the exact
queries a request runs, the response size and the CPU time of a request in this process (direct WSGI calls, no
network), which stays steady on noisy machines. It reports speed; it asserts none.
"""

import argparse
import io
import json
import os
import shutil
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from tests.perf.load import WRK_INSTALL, LoadResult, add_load_options, rounds_in_turn, run_load
from tests.perf.servers import PROJECT, gunicorn, manage, production_env

RESULTS = PROJECT / "var" / "bench"
PORT = 8111
SEED_ARTICLES = 1200  # 90% published: enough for the 1,000-item page of the sweep


@dataclass(frozen=True)
class Stage:
    """One way of serving the list: its number, its name, its path and what it changes."""

    number: int
    name: str
    path: str
    what: str
    conditional: bool = False


STAGES = [
    Stage(1, "naive", "/bench/naive/", "ModelSerializer, nested author and tags, no select/prefetch (N+1)"),
    Stage(2, "optimized", "/bench/optimized/", "the same serializer with select_related, prefetch_related, Count"),
    Stage(3, "values", "/bench/values/", "the project's values() list, without its cache"),
    Stage(4, "cold", "/bench/cold/", "the real endpoint, a new cache key each request (every request misses)"),
    Stage(5, "warm", "/api/articles/", "the real endpoint, cache warm"),
    Stage(6, "304", "/api/articles/", "the real endpoint with a matching If-None-Match", conditional=True),
    Stage(8, "raw view", "/bench/raw/", "a plain Django function view returning the same cached bytes"),
    Stage(9, "bare WSGI", "/bench/wsgi/", "a bare WSGI callable returning the same cached bytes"),
]


@dataclass
class StageResult:
    """What was measured for one stage."""

    stage: Stage
    runs: list[LoadResult]
    queries: int
    size: int
    cpu_us: float

    def median(self, field: str) -> float:
        """Return the median of one LoadResult field over the rounds."""
        return float(statistics.median(getattr(run, field) for run in self.runs))


def main() -> None:
    """Seed, check, measure and report."""
    options = _parse_arguments()
    stages = [stage for stage in STAGES if not options.stages or str(stage.number) in options.stages.split(",")]
    env = production_env(DJANGO_SETTINGS_MODULE="settings.bench", DJANGO_TOOLS="", DJANGO_SERVER_TIMING="off")
    if shutil.which("wrk") is None:
        print(f"WARNING: wrk not found, using the Python load generator, which limits the numbers: {WRK_INSTALL}.")
    manage("migrate", "--noinput", "--verbosity", "0", env=env)
    manage("seed_demo", "--articles", str(SEED_ARTICLES), env=env)
    # Django starts only now, in this process too, on the settings the environment above gives the server.
    os.environ.update(env)
    import django

    django.setup()
    query = f"?page_size={options.items_per_page}"
    with gunicorn(PORT, workers=options.workers, env=env, app="tests.perf.wsgi:application") as base:
        etag = _prepare(base, stages, query)
        results = [_measure_in_process(stage, query, etag) for stage in stages]
        for round_number, index in rounds_in_turn(len(results), options.rounds):
            result = results[index]
            headers = {"If-None-Match": etag} if result.stage.conditional else {}
            run = run_load(
                base + result.stage.path + query,
                duration=options.duration,
                connections=options.connections,
                headers=headers,
            )
            result.runs.append(run)
            name = f"{result.stage.number} {result.stage.name}"
            print(f"round {round_number}: {name}: {run.requests_per_second:,.0f} req/s")
    _report(results, options)


def _parse_arguments() -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_load_options(parser)
    parser.add_argument("--items-per-page", type=int, default=50)
    parser.add_argument("--stages", default="", help="stage numbers to run, comma-separated (default: all)")
    return parser.parse_args()


def _prepare(base: str, stages: list[Stage], query: str) -> str:
    """Warm the real list, store its bytes for the ceilings, check each stage serves its items; return the ETag."""
    from django.core.cache import cache

    from tests.perf.stages import RAW_KEY, page_items

    with urllib.request.urlopen(base + "/api/articles/" + query, timeout=30) as response:  # noqa: S310
        body, etag = response.read(), response.headers["ETag"]
    cache.set(RAW_KEY, body, timeout=None)
    expected = page_items(json.loads(body))
    for stage in stages:
        if stage.conditional:
            continue
        with urllib.request.urlopen(base + stage.path + query, timeout=60) as response:  # noqa: S310
            served = page_items(json.loads(response.read()))
        if served != expected:
            sys.exit(f"Stage {stage.number} ({stage.name}) serves other items than the real list: no fair test.")
    return str(etag)


def _measure_in_process(stage: Stage, query: str, etag: str) -> StageResult:
    """Return the stage's queries per request, response size and CPU time per request, from direct WSGI calls."""
    from django.db import connection

    from tests.perf.wsgi import application

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": stage.path,
        "QUERY_STRING": query.removeprefix("?"),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": str(PORT),
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        **({"HTTP_IF_NONE_MATCH": etag} if stage.conditional else {}),
    }

    def call() -> bytes:
        return b"".join(application({**environ, "wsgi.input": io.BytesIO()}, lambda status, headers, *rest: None))

    call()
    queries: list[str] = []

    def count(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        queries.append(sql)
        return execute(sql, *args)

    with connection.execute_wrapper(count):
        size = len(call())
    calls, started = 0, time.process_time()
    while time.process_time() - started < 1.0 or calls < 5:
        call()
        calls += 1
    cpu_us = (time.process_time() - started) / calls * 1e6
    return StageResult(stage, [], len(queries), size, cpu_us)


def _report(results: list[StageResult], options: argparse.Namespace) -> None:
    """Print the table and write it, the JSON and the chart to var/bench/."""
    by_number = {result.stage.number: result.median("requests_per_second") for result in results}
    lines = [
        "| # | stage | req/s | p50 | p99 | queries | bytes | CPU/request | vs 2 | vs 8 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        rate = result.median("requests_per_second")
        versus = [f"{rate / by_number[n]:.2f}x" if n in by_number else "-" for n in (2, 8)]
        lines.append(
            f"| {result.stage.number} | {result.stage.name} | {rate:,.0f} | {result.median('p50_ms'):.2f} ms "
            f"| {result.median('p99_ms'):.2f} ms | {result.queries} | {result.size:,} | {result.cpu_us:,.0f} µs "
            f"| {versus[0]} | {versus[1]} |"
        )
    table = "\n".join(lines)
    print(
        f"\n{options.items_per_page} items a page, {options.workers} gunicorn workers, {options.connections} "
        f"connections, {options.rounds} rounds of {options.duration:g} s (medians):\n\n{table}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "results.md").write_text(table + "\n")
    data = [
        {**asdict(result), "stage": asdict(result.stage), "runs": [asdict(run) for run in result.runs]}
        for result in results
    ]
    (RESULTS / "results.json").write_text(json.dumps({"options": vars(options), "stages": data}, indent=2))
    print(f"\nWritten to {RESULTS.relative_to(PROJECT)}/results.md and results.json")


if __name__ == "__main__":
    main()
