"""``make bench URLS=/api/tags/,/api/stats/``: the project's own endpoints, each warm, missing the cache and as a 304.

One gunicorn (gunicorn.conf.py, ``settings.bench``, the configured database and cache, Server-Timing off) serves the
project through the benchmark's WSGI application (``tests/perf/wsgi.py``). Each URL must answer an anonymous GET
with a 200. wrk then loads three requests a URL, in turn for several rounds (each round starting from another one),
and the runner reports medians: warm (the cached response is there), miss (``X-Bench-Miss: 1``: each request misses
the response cache and rebuilds its entry, see ``tests.perf.misses``) and 304 (``If-None-Match`` with the ETag of
the warm response). In this process, straight through WSGI with Server-Timing on, it counts the queries of one
request of each kind and records where its time went. It measures the data the database holds and seeds none; it
reports speed and asserts none.
"""

import argparse
import io
import os
import re
import statistics
import sys
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.client import HTTPConnection
from typing import Any, NamedTuple

from tests.perf.load import LoadResult, add_load_options, load_generator, rounds_in_turn, run_load
from tests.perf.servers import PROJECT, gunicorn, prepare, production_env, served_workers

RESULTS = PROJECT / "var" / "bench" / "endpoints.md"
PORT = 8111
WARM_UP_SECONDS = 1.0
# Calls of each request in process; the breakdown shown is the one whose total is the median.
TIMED_CALLS = 11
KINDS = ("warm", "miss", "304")
PARTS = ("db", "cache", "serialize", "render", "view", "other", "total")
EXAMPLE_URLS = "/api/tags/,/api/stats/"


@dataclass(frozen=True)
class Endpoint:
    """A URL that answered 200: its warm response's ETag (if any), and whether its view is a cached view."""

    url: str
    etag: str | None
    cached: bool


class Answer(NamedTuple):
    """A WSGI application's answer: status, headers and body."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Case:
    """One request of one endpoint (warm, miss or 304) and what was measured for it."""

    endpoint: Endpoint
    kind: str
    status: int = 0
    queries: int = 0
    timing: dict[str, float] = field(default_factory=dict)
    cache_reads: tuple[int, int] = (0, 0)
    runs: list[LoadResult] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        """Return the headers this kind of request sends."""
        if self.kind == "miss":
            # Imported here: tests.perf.misses imports the project's views, which need Django set up (main() does).
            from tests.perf.misses import MISS_HEADER

            return {MISS_HEADER: "1"}
        if self.kind == "304" and self.endpoint.etag:
            return {"If-None-Match": self.endpoint.etag}
        return {}

    @property
    def loaded(self) -> bool:
        """Return whether this request is loaded: a 304 needs an ETag."""
        return self.kind != "304" or self.endpoint.etag is not None

    def median(self, name: str) -> float:
        """Return the median of one LoadResult field over the rounds."""
        return float(statistics.median(getattr(run, name) for run in self.runs))


def main() -> None:
    """Check every URL, measure each request in process and under load, and write the table."""
    options = parse_arguments(sys.argv[1:])
    try:
        urls = parse_urls(options.urls)
    except ValueError as error:
        sys.exit(str(error))
    env = production_env(DJANGO_SETTINGS_MODULE="settings.bench", DJANGO_TOOLS="", DJANGO_SERVER_TIMING="off")
    generator = load_generator()
    prepare(env)
    # Django starts only now, in this process too, on the settings the environment above gives the server.
    os.environ.update(env)
    import django

    django.setup()
    from tests.perf.misses import forget_misses

    with gunicorn(PORT, workers=options.workers, env=env, app="tests.perf.wsgi:application") as base:
        endpoints = [_check(base, url) for url in urls]
        cases = [Case(endpoint, kind) for endpoint in endpoints for kind in KINDS]
        _measure_in_process(cases)
        forget_misses()
        _load(base, [case for case in cases if case.loaded], options)
    _write(cases, options, generator=generator, command=command(urls, sys.argv[1:]))


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", default="", help=f"comma-separated paths with their query, such as {EXAMPLE_URLS}")
    add_load_options(parser)
    # The workers the project is served with: sync workers wait on PostgreSQL and Redis, and 2 x cores + 1 of them
    # keep the cores busy meanwhile, as gunicorn's documentation advises.
    parser.set_defaults(workers=served_workers())
    return parser.parse_args(argv)


def parse_urls(text: str) -> list[str]:
    """Return the paths of a comma-separated list, or raise ValueError saying what to type instead."""
    urls = [url.strip() for url in text.split(",") if url.strip()]
    if not urls:
        raise ValueError(f"URLS is empty: name the paths to measure, such as make bench URLS={EXAMPLE_URLS}")
    for url in urls:
        if not url.startswith("/"):
            parts = urllib.parse.urlsplit(url)
            path = urllib.parse.urlunsplit(("", "", parts.path, parts.query, "")) if parts.netloc else f"/{url}"
            raise ValueError(f"URLS: {url!r} is not a path from the site's root: type {path} instead")
    return urls


def command(urls: list[str], argv: Sequence[str]) -> str:
    """Return the make command that reproduces this run."""
    rest: list[str] = []
    arguments = iter(argv)
    for argument in arguments:
        if argument == "--urls":
            next(arguments, None)
        elif not argument.startswith("--urls="):
            rest.append(argument)
    bench_args = f' BENCH_ARGS="{" ".join(rest)}"' if rest else ""
    return f"make bench URLS={','.join(urls)}{bench_args}"


def _check(base: str, url: str) -> Endpoint:
    """Return the endpoint at url, or exit with one line if it does not answer an anonymous GET with a 200."""
    from django.urls import Resolver404, resolve

    from core.toolkit.views import CachedReadView

    connection = HTTPConnection(base.removeprefix("http://"), timeout=60)
    try:
        connection.request("GET", url)
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    if response.status != 200:
        location = response.getheader("Location")
        to = f" (to {location})" if location else ""
        sys.exit(f"GET {url} answered {response.status}{to}, not 200: the bench measures URLs that answer 200.")
    try:
        view = getattr(resolve(urllib.parse.urlsplit(url).path).func, "view_class", None)
    except Resolver404:
        view = None
    cached = isinstance(view, type) and issubclass(view, CachedReadView)
    return Endpoint(url, response.getheader("ETag"), cached)


def _measure_in_process(cases: list[Case]) -> None:
    """Record each case's status, queries and Server-Timing breakdown, from direct WSGI calls with Server-Timing on."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test.utils import override_settings

    from tests.perf.misses import with_misses

    # The middleware reads the setting when the handler builds its chain: this handler times, the server does not.
    with override_settings(SERVER_TIMING="on", SERVER_TIMING_SAMPLE_RATE=1.0):
        application = with_misses(WSGIHandler())
    for case in cases:
        if not case.loaded:
            continue
        environ = wsgi_environ(case.endpoint.url, case.headers)
        call_wsgi(application, environ)
        queries: list[str] = []

        def count(execute: Callable[..., Any], sql: str, *args: Any, queries: list[str] = queries) -> Any:
            queries.append(sql)
            return execute(sql, *args)

        with connection.execute_wrapper(count):
            case.status = call_wsgi(application, environ).status
        case.queries = len(queries)
        headers = [call_wsgi(application, environ).headers.get("Server-Timing", "") for _ in range(TIMED_CALLS)]
        timed = sorted((header for header in headers if header), key=lambda header: server_timing(header)["total"])
        if timed:
            median = timed[len(timed) // 2]
            case.timing, case.cache_reads = server_timing(median), cache_reads(median)


def wsgi_environ(url: str, headers: dict[str, str]) -> dict[str, Any]:
    """Return the WSGI environ of an anonymous GET of url with the given headers."""
    parts = urllib.parse.urlsplit(url)
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": urllib.parse.unquote(parts.path),
        "QUERY_STRING": parts.query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": str(PORT),
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        **{f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()},
    }


def call_wsgi(application: Callable[..., Any], environ: dict[str, Any]) -> Answer:
    """Return the answer to one call of the WSGI application, its response closed."""
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *rest: Any) -> None:
        started.update(status=int(status.split()[0]), headers=dict(headers))

    body = application({**environ, "wsgi.input": io.BytesIO()}, start_response)
    try:
        content = b"".join(body)
    finally:
        getattr(body, "close", lambda: None)()
    return Answer(started["status"], started["headers"], content)


def server_timing(header: str) -> dict[str, float]:
    """Return each part's milliseconds from a Server-Timing header value."""
    return {match[1]: float(match[2]) for match in re.finditer(r"(\w+);dur=([\d.]+)", header)}


def cache_reads(header: str) -> tuple[int, int]:
    """Return the cache hits and misses a Server-Timing header counts."""
    hits = re.search(r"(\d+) hits?\b", header)
    misses = re.search(r"(\d+) miss(?:es)?\b", header)
    return int(hits[1]) if hits else 0, int(misses[1]) if misses else 0


def _load(base: str, cases: list[Case], options: argparse.Namespace) -> None:
    """Warm every case up, then load them in turn for the rounds; delete the misses' entries after each run."""
    from tests.perf.misses import forget_misses

    for case in cases:
        run_load(
            base + case.endpoint.url,
            duration=min(WARM_UP_SECONDS, options.duration),
            connections=options.connections,
            headers=case.headers,
        )
        forget_misses()
    for round_number, index in rounds_in_turn(len(cases), options.rounds):
        case = cases[index]
        run = run_load(
            base + case.endpoint.url, duration=options.duration, connections=options.connections, headers=case.headers
        )
        case.runs.append(run)
        if case.kind == "miss":
            forget_misses()
        errors = f" ({run.errors} errors)" if run.errors else ""
        print(f"round {round_number}: {case.endpoint.url} {case.kind}: {run.requests_per_second:,.0f} req/s{errors}")


def table(cases: list[Case]) -> str:
    """Return the Markdown table: per URL and request, its load medians, queries and Server-Timing breakdown."""
    lines = [
        "| URL | request | req/s | p50 | p99 | queries | cache hit / miss | "
        + " | ".join(f"{part} ms" for part in PARTS)
        + " |",
        "|---|---|--:|--:|--:|--:|--:|" + "--:|" * len(PARTS),
    ]
    for case in cases:
        lines.append(f"| {case.endpoint.url} | {_request(case)} | {_load_cells(case)} | {_process_cells(case)} |")
    return "\n".join(lines)


def _request(case: Case) -> str:
    """Return the request's name, and the status it got when that is not the one it asks for."""
    expected = 304 if case.kind == "304" else 200
    return case.kind if case.status in (0, expected) else f"{case.kind} (answered {case.status})"


def _load_cells(case: Case) -> str:
    """Return the req/s, p50 and p99 cells: the medians of the rounds, or why there are none."""
    if not case.loaded:
        return "no ETag | - | -"
    if not case.runs:
        return "- | - | -"
    errors = sum(run.errors for run in case.runs)
    note = f" ({errors:,} errors)" if errors else ""
    rate, p50, p99 = (case.median(name) for name in ("requests_per_second", "p50_ms", "p99_ms"))
    return f"{rate:,.0f}{note} | {p50:.2f} ms | {p99:.2f} ms"


def _process_cells(case: Case) -> str:
    """Return the queries, cache reads and Server-Timing cells of one request called in process."""
    if not case.loaded:
        return " | ".join(["-"] * (2 + len(PARTS)))
    hits, misses = case.cache_reads
    parts = " | ".join(f"{case.timing[part]:.2f}" if part in case.timing else "-" for part in PARTS)
    return f"{case.queries} | {hits} / {misses} | {parts}"


def notes(cases: list[Case]) -> list[str]:
    """Return what the reader must know about some URLs: a view that is not cached, a miss that did not miss."""
    lines = []
    for case in cases:
        url = case.endpoint.url
        if case.kind == "miss" and not case.endpoint.cached:
            lines.append(f"- {url}: its view is not a cached view, so warm and miss are the same work.")
        elif case.kind == "miss" and case.cache_reads[1] == 0:
            lines.append(f"- {url}: the miss header found the cache warm (does its view's cache_key call super()?).")
        elif case.kind == "304" and not case.loaded:
            lines.append(f"- {url}: its response has no ETag, so no request can be answered 304.")
    return lines


def _write(cases: list[Case], options: argparse.Namespace, *, generator: str, command: str) -> None:
    """Print the report and write it to var/bench/endpoints.md."""
    from tests.perf.machine import machine

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rounds = f"{options.rounds} round{'s' if options.rounds != 1 else ''}"
    sections = [
        f"Measured {when} on {machine()} by `{command}`: {options.workers} gunicorn workers (Server-Timing off), "
        f"load from {generator} with {options.connections} connections, {rounds} of {options.duration:g} s a "
        "request (medians).",
        table(cases),
        "warm: the cached response is there; miss: `X-Bench-Miss: 1`, each request misses the response cache and "
        "rebuilds its entry (look up, lock, build, store, unlock); 304: `If-None-Match` with the warm response's "
        f"ETag. Queries, cache reads and the Server-Timing parts are those of one request called in this process "
        f"through WSGI with Server-Timing on (of {TIMED_CALLS} calls, the one with the median total).",
        *(["\n".join(notes(cases))] if notes(cases) else []),
    ]
    text = "\n\n".join(sections) + "\n"
    print("\n" + text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(f"Written to {RESULTS.relative_to(PROJECT)}")


if __name__ == "__main__":
    main()
