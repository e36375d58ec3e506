"""``make bench``: the article list at each stage of optimization, served side by side, measured, tabled and charted.

One gunicorn (gunicorn.conf.py, ``settings.bench``, the configured database and cache) serves every stage. The
runner seeds a fixed data set, checks that every stage serves the same items, warms each up, then loads the stages
in turn for several rounds (each round starting from another stage) and reports medians. Per stage it also records
the exact queries a request runs, the response size and the CPU time of a request in this process (direct WSGI
calls), which neither the load generator nor the network disturbs. A page-size sweep then measures the cost per
item of stages 2, 4 and 5. It reports speed; it asserts none.

``--servers gunicorn,granian`` serves the same stages with each server (deploy/granian_server.py for granian, on
the next port), loads every stage on every server in each round, and adds a table of each stage under each server
with the ratio to the first server; the other tables, the targets, the charts and the sweep are the first server's.
"""

import argparse
import io
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from typing import Any

from deploy.edge import INSTALL_HINT, find_varnishd, varnish
from tests.perf import edge_writes
from tests.perf.edge_writes import EdgeWrites
from tests.perf.load import add_load_options, load_generator, rounds_in_turn, run_load
from tests.perf.report import Stage, StageResult, write
from tests.perf.servers import PROJECT, SERVERS, manage, prepare, production_env, served_workers

RESULTS = PROJECT / "var" / "bench"
PORT = 8111
SEED_ARTICLES = 1200  # 90% published: enough for the 1,000-item page of the sweep
REAL_LIST = "/api/articles/"
WARM_UP_SECONDS = 1.0
EDGE = "edge"
CPU_SECONDS = 1.0

STAGES = [
    Stage(1, "naive", "/bench/naive/", "ModelSerializer, nested author and tags, no select/prefetch (N+1)"),
    Stage(2, "optimized", "/bench/optimized/", "the same serializer with select_related, prefetch_related, Count"),
    Stage(3, "values", "/bench/values/", "the project's list through values() and orjson, without its cache"),
    Stage(4, "cold", "/bench/cold/", "the real endpoint, rows' JSON built by the database, a new cache key each time"),
    Stage(5, "warm", REAL_LIST, "the real endpoint, cache warm: stored bytes out"),
    Stage(6, "304", REAL_LIST, "the real endpoint with a matching If-None-Match", conditional=True),
    Stage(7, "django-ninja", "/bench/ninja/articles/", "django-ninja serving the same values() rows, orjson"),
    Stage(8, "raw view", "/bench/raw/", "a plain Django function view returning the same cached bytes", ceiling=True),
    Stage(9, "bare WSGI", "/bench/wsgi/", "a bare WSGI callable returning the same cached bytes", ceiling=True),
    Stage(
        10,
        "edge",
        REAL_LIST,
        "the real endpoint through Varnish (deploy/varnish/default.vcl): a hit at the edge",
        edge=True,
    ),
]
# Varnish in front of the first server, for the edge stage; and two servers that time writes, with and without it.
EDGE_PORT = PORT + 50
WRITE_PORTS = (PORT + 60, PORT + 61)
SWEEP_STAGES = (2, 4, 5)


def main() -> None:
    """Seed, check, measure and report."""
    options = _parse_arguments()
    stages = [stage for stage in STAGES if not options.stages or stage.number in options.stages]
    edge = any(stage.edge for stage in stages) and _edge_available()
    stages = [stage for stage in stages if edge or not stage.edge]
    # With the edge stage, the project runs as it would behind Varnish: public reads carry their surrogate keys.
    edge_env = {"DJANGO_EDGE_PURGE_URLS": f"http://127.0.0.1:{EDGE_PORT}"} if edge else {}
    env = production_env(
        DJANGO_SETTINGS_MODULE="settings.bench", DJANGO_TOOLS="", DJANGO_SERVER_TIMING="off", **edge_env
    )
    generator = load_generator()
    prepare(env)
    # Seeded before the edge starts: its invalidations have nothing to purge there yet.
    manage("seed_demo", "--articles", str(SEED_ARTICLES), env=_without_edge(env))
    # Django starts only now, in this process too, on the settings the environment above gives the server.
    os.environ.update(env)
    import django

    django.setup()
    sweep_cases = [(stage, size) for size in options.sweep for stage in stages if stage.number in SWEEP_STAGES]
    with ExitStack() as servers:
        bases = {
            name: servers.enter_context(
                SERVERS[name](PORT + index, workers=options.workers, env=env, app="tests.perf.wsgi:application")
            )
            for index, name in enumerate(options.servers)
        }
        if edge:
            workdir = RESULTS / "edge"
            front = f"127.0.0.1:{EDGE_PORT}"
            servers.enter_context(varnish(listen=front, backend_host="127.0.0.1", backend_port=PORT, workdir=workdir))
            bases[EDGE] = f"http://{front}"
        compared = _measure(bases, [(stage, options.items_per_page) for stage in stages], options)
        first = {options.servers[0]: bases[options.servers[0]]}
        sweep = _measure(first, sweep_cases, options) if sweep_cases else []
        writes = _measure_edge_writes(bases, env, servers) if edge else None
    settings = {**vars(options), "generator": generator}
    results = [result for result in compared if result.server == options.servers[0]]
    write(results, sweep, settings=settings, folder=RESULTS, compared=compared, edge_writes=writes)


def _measure_edge_writes(bases: dict[str, str], env: dict[str, str], servers: ExitStack) -> EdgeWrites:
    """Return what the edge costs a write and how soon it serves one, timing writes on two like servers.

    The two differ only in the edge: one purges it, the other has none; one worker each, the same application.
    """
    with_edge = servers.enter_context(SERVERS["gunicorn"](WRITE_PORTS[0], workers=1, env=env))
    without_edge = servers.enter_context(SERVERS["gunicorn"](WRITE_PORTS[1], workers=1, env=_without_edge(env)))
    token, article = edge_writes.writer()
    print(
        f"Edge writes: {edge_writes.WRITES} writes on each of two servers, with and without the edge, then through it"
    )
    return edge_writes.measure(
        with_edge=with_edge, without_edge=without_edge, edge=bases[EDGE], token=token, article=article
    )


def _without_edge(env: dict[str, str]) -> dict[str, str]:
    """Return the environment with no edge configured."""
    return {key: value for key, value in env.items() if key != "DJANGO_EDGE_PURGE_URLS"}


def _edge_available() -> bool:
    """Return whether varnishd can run the edge stage; say why not when it cannot."""
    if find_varnishd() is None:
        print(f"Stage 10 (edge) left out: varnishd not found; {INSTALL_HINT}.")
        return False
    return True


def _parse_arguments() -> argparse.Namespace:
    """Return the command-line options, or exit with a one-line error naming what to type instead."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_load_options(parser)
    # The workers the project is served with: sync workers wait on PostgreSQL and Redis, and 2 x cores + 1 of them
    # keep the cores busy meanwhile, as gunicorn's documentation advises.
    parser.set_defaults(workers=served_workers())
    parser.add_argument("--items-per-page", type=int, default=50, help="1 to 1000 (default: 50)")
    parser.add_argument(
        "--stages", type=numbers, default=[], help="stage numbers to run, such as 4,5,7 (default: all)"
    )
    parser.add_argument(
        "--servers",
        type=server_names,
        default=["gunicorn"],
        help="servers to run the stages with, side by side, such as gunicorn,granian (default: gunicorn)",
    )
    parser.add_argument(
        "--sweep",
        type=page_sizes,
        default=[10, 100, 1000],
        help="page sizes of the cost-per-item sweep of stages 2, 4 and 5, such as 10,100,1000, or none",
    )
    options = parser.parse_args()
    unknown = sorted(set(options.stages) - {stage.number for stage in STAGES})
    if unknown:
        parser.error(f"--stages: no stage {', '.join(map(str, unknown))}; the stages are 1 to {len(STAGES)}")
    return options


def numbers(text: str) -> list[int]:
    """Return the numbers of a comma-separated list such as 10,100,1000."""
    return [int(number) for number in text.split(",")]


def server_names(text: str) -> list[str]:
    """Return the server names of a comma-separated list such as gunicorn,granian."""
    names = text.split(",")
    unknown = [name for name in names if name not in SERVERS]
    if unknown or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"name each of {', '.join(SERVERS)} at most once, not {text}")
    return names


def page_sizes(text: str) -> list[int]:
    """Return the page sizes of a comma-separated list, or none for ``none``."""
    return [] if text == "none" else numbers(text)


def _measure(bases: dict[str, str], cases: list[tuple[Stage, int]], options: argparse.Namespace) -> list[StageResult]:
    """Return each (stage, page size) case's measurements on each server: checked, measured in process, loaded."""
    sizes = dict.fromkeys(size for _, size in cases)
    prepared: dict[int, tuple[str, int]] = {}
    for base in bases.values():  # each server is checked (and the edge); they serve the same bytes and items
        prepared |= {size: _prepare(base, [stage for stage, at in cases if at == size], size) for size in sizes}
    cpu_seconds = min(CPU_SECONDS, options.duration)
    in_process = [_measure_in_process(stage, size, *prepared[size], cpu_seconds=cpu_seconds) for stage, size in cases]
    servers = [server for server in bases if server != EDGE]
    # The edge stage runs once, through Varnish in front of the first server.
    results = [
        replace(result, server=server, runs=[])
        for server in servers
        for result in in_process
        if not result.stage.edge or server == servers[0]
    ]
    headers = [
        {"If-None-Match": prepared[result.page_size][0]} if result.stage.conditional else {} for result in results
    ]
    for result, sent in zip(results, headers, strict=True):
        warm_up = min(WARM_UP_SECONDS, options.duration)
        run_load(_url(bases, result), duration=warm_up, connections=options.connections, headers=sent)
    for round_number, index in rounds_in_turn(len(results), options.rounds):
        result = results[index]
        run = run_load(
            _url(bases, result), duration=options.duration, connections=options.connections, headers=headers[index]
        )
        result.runs.append(run)
        errors = f" ({run.errors} errors)" if run.errors else ""
        rate = f"{run.requests_per_second:,.0f} req/s{errors}"
        server = f"{result.server}, " if len(servers) > 1 else ""
        print(f"round {round_number}: {server}{result.label}, {result.items} items: {rate}")
    return results


def _url(bases: dict[str, str], result: StageResult) -> str:
    """Return the URL of a case on its server, or through the edge."""
    base = bases[EDGE] if result.stage.edge else bases[result.server]
    return f"{base}{result.stage.path}?page_size={result.page_size}"


def _prepare(base: str, stages: list[Stage], size: int) -> tuple[str, int]:
    """Warm the real list, store its bytes for the ceilings, check each stage serves its items; return ETag, items."""
    from django.core.cache import cache

    from tests.perf.stages import RAW_KEY, page_items

    try:
        with urllib.request.urlopen(f"{base}{REAL_LIST}?page_size={size}", timeout=60) as response:  # noqa: S310
            body, etag = response.read(), response.headers["ETag"]
    except urllib.error.HTTPError as error:
        sys.exit(f"GET {REAL_LIST}?page_size={size} answered {error.code}: {error.read().decode()}")
    if any(stage.ceiling for stage in stages):
        cache.set(RAW_KEY, body, timeout=None)
    expected = page_items(json.loads(body))
    for stage in stages:
        if stage.conditional:
            continue
        with urllib.request.urlopen(f"{base}{stage.path}?page_size={size}", timeout=60) as response:  # noqa: S310
            served = page_items(json.loads(response.read()))
        if served != expected:
            sys.exit(f"Stage {stage.number} ({stage.name}) serves other items than the real list: no fair test.")
    return str(etag), len(expected)


def _measure_in_process(stage: Stage, size: int, etag: str, items: int, *, cpu_seconds: float) -> StageResult:
    """Return the stage's queries per request, response size and CPU time per request, from direct WSGI calls."""
    from django.db import connection

    from tests.perf.wsgi import application

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": stage.path,
        "QUERY_STRING": f"page_size={size}",
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
        body_size = len(call())
    if stage.edge:
        # A hit at the edge never reaches the application: no query, none of its CPU.
        return StageResult(stage, size, items, 0, body_size, 0.0)
    calls, started = 0, time.process_time()
    while time.process_time() - started < cpu_seconds or calls < 5:
        call()
        calls += 1
    cpu_us = (time.process_time() - started) / calls * 1e6
    return StageResult(stage, size, items, len(queries), body_size, cpu_us)


if __name__ == "__main__":
    main()
