"""``make bench-local``: what the process-local layer buys on a hit, and how long after a commit every worker sees it.

Both parts serve the project with gunicorn.conf.py, ``settings.bench`` (production's), 4 workers and
``DJANGO_API_LOCAL_CACHE=on``, on the configured PostgreSQL and Redis.

1. **Speed.** wrk loads the real list (``/api/articles/?page_size=50``, warm) and ``/bench/raw/``, a plain Django
   function view returning the same bytes from Redis, in interleaved rounds; the report gives medians, and the
   median of the two stages' ratio within each round. Each stage's CPU time per request, called straight through
   WSGI in this process (layer on, no server, no network), shows what the layer saves in Django itself.
2. **Coherence.** A second server runs ``tests.perf.wsgi:application_with_worker``, which names the answering
   worker's pid in a header. Pollers GET the list without pause while this process commits writes (the title of the
   list's first article, through the ORM, so the bump lands and is published in ``on_commit`` as in a request).
   Between writes every worker answers long enough to hold the entry locally again. For each write and each worker:

   - the **stale window**: how long after the commit returned that worker still answered a request *sent* after it
     with the old title (0 when it never did). This is what the layer costs: through Redis it is 0. It is a lower
     bound, short of the true one by at most the gap between two requests reaching that worker (reported). Old bytes
     served on purpose because the database did not answer a rebuild (``Cache-Status: ...; stale``) are counted
     apart;
   - the **first fresh answer**: how long after the commit that worker first answered with the new title; it includes
     the rebuild of the entry (one worker rebuilds, the others wait for it) and the polling gap, with the layer on or
     off alike.

   The same run with the layer off (the Redis path) gives the reference figures.

It reports speed and delays; it asserts none.
"""

import argparse
import http.client
import itertools
import os
import statistics
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.perf.bench import CPU_SECONDS, REAL_LIST, SEED_ARTICLES, STAGES, _measure_in_process, _prepare
from tests.perf.load import LoadResult, add_load_options, load_generator, rounds_in_turn, run_load
from tests.perf.servers import PROJECT, free_port, gunicorn, manage, prepare, production_env

RESULTS = PROJECT / "var" / "bench" / "local-cache.md"
PAGE_SIZE = 50
LIST_URL = f"{REAL_LIST}?page_size={PAGE_SIZE}"
WORKER_HEADER = "X-Bench-Worker"
WSGI = "tests.perf.wsgi:application"
WARM_UP_SECONDS = 1.0
# After a write is seen everywhere, the pollers keep going this long so every worker holds the entry locally again.
SETTLE_SECONDS = 0.3
GIVE_UP_SECONDS = 5.0


@dataclass
class Write:
    """One committed write: its marker in the title, when the commit returned, and what the pollers saw after it."""

    marker: str
    committed: float
    first_seen: dict[int, float] = field(default_factory=dict)  # worker pid -> seconds after the commit
    stale_until: dict[int, float] = field(default_factory=dict)  # worker pid -> seconds after the commit
    stale_answers: int = 0
    stale_if_error: int = 0


@dataclass
class CoherenceRun:
    """The writes of one coherence run, and the median time between two answers of the same worker."""

    writes: list[Write]
    polling_gap_ms: float


@dataclass
class Polls:
    """What the pollers share: the write under watch, and each worker's answer times (for the polling gap)."""

    write: Write | None = None
    answers: dict[int, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)


def main() -> None:
    """Seed, measure the speed, measure the coherence delay with the layer on and off, report."""
    options = _parse_arguments()
    settings = {"DJANGO_SETTINGS_MODULE": "settings.bench", "DJANGO_TOOLS": "", "DJANGO_SERVER_TIMING": "off"}
    env = production_env(**settings, DJANGO_API_LOCAL_CACHE="on")
    generator = load_generator()
    prepare(env)
    manage("seed_demo", "--articles", str(SEED_ARTICLES), env=env)
    # This process writes through the ORM with the server's settings, the layer on: its bumps are published.
    os.environ.update(env)
    import django

    django.setup()
    with gunicorn(free_port(), workers=options.workers, env=env, app=WSGI) as base:
        speed = _measure_speed(base, options)
    delays = {}
    for switch in ("on", "off"):
        served = {**env, "DJANGO_API_LOCAL_CACHE": switch}
        with gunicorn(free_port(), workers=options.workers, env=served, app=f"{WSGI}_with_worker") as base:
            delays[switch] = _measure_coherence(base, options)
    report = _report(speed, delays, options, generator)
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report)


def _parse_arguments() -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_load_options(parser)
    parser.set_defaults(workers=4, rounds=5)
    parser.add_argument("--writes", type=int, default=100, help="committed writes of the coherence run")
    parser.add_argument("--pollers", type=int, default=8, help="concurrent polling clients of the coherence run")
    return parser.parse_args()


@dataclass
class Speed:
    """The load runs of each stage, round by round, and each stage's CPU time per request in process."""

    runs: dict[str, list[LoadResult]]
    cpu_us: dict[str, float]


def _measure_speed(base: str, options: argparse.Namespace) -> Speed:
    """Return the load runs of the warm list (local layer) and of the plain view, in interleaved rounds."""
    stages = [stage for stage in STAGES if stage.number in (5, 8)]
    etag, items = _prepare(base, stages, PAGE_SIZE)
    cpu_us = {
        stage.name: _measure_in_process(stage, PAGE_SIZE, etag, items, cpu_seconds=CPU_SECONDS).cpu_us
        for stage in stages
    }
    runs: dict[str, list[LoadResult]] = {stage.name: [] for stage in stages}
    urls = [f"{base}{stage.path}?page_size={PAGE_SIZE}" for stage in stages]
    for url in urls:
        run_load(url, duration=WARM_UP_SECONDS, connections=options.connections)
    for round_number, index in rounds_in_turn(len(stages), options.rounds):
        stage = stages[index]
        run = run_load(urls[index], duration=options.duration, connections=options.connections)
        runs[stage.name].append(run)
        print(f"round {round_number}: {stage.name}: {run.requests_per_second:,.0f} req/s ({run.errors} errors)")
    return Speed(runs, cpu_us)


def _measure_coherence(base: str, options: argparse.Namespace) -> CoherenceRun:
    """Return the writes committed while pollers read the list, each with when every worker first showed it."""
    polls = Polls()
    with _pollers(base, polls, options.pollers):
        workers = _wait_for_workers(polls, options.workers)
        article_id = _first_article(base)
        writes = []
        for _ in range(options.writes):
            write = _commit(article_id, polls)
            deadline = time.monotonic() + GIVE_UP_SECONDS
            while time.monotonic() < deadline and not workers <= write.first_seen.keys():
                time.sleep(0.001)
            writes.append(write)
            time.sleep(SETTLE_SECONDS)
    gaps = [later - earlier for times in polls.answers.values() for earlier, later in itertools.pairwise(times)]
    return CoherenceRun(writes, statistics.median(gaps) * 1000)


def _commit(article_id: int, polls: Polls) -> Write:
    """Give the article a new title in a transaction of its own; return the write, timed from the commit's return."""
    from django.db import transaction

    from api.models import Article

    marker = uuid.uuid4().hex
    with transaction.atomic():
        article = Article.objects.get(pk=article_id)
        article.title = f"Coherence {marker}"
        article.save(update_fields=["title"])
    # The on_commit bump (landed, published) has run: a client of this write would have its answer now.
    write = Write(marker, time.perf_counter())
    with polls.lock:
        polls.write = write
    return write


@contextmanager
def _pollers(base: str, polls: Polls, count: int) -> Iterator[None]:
    """Run ``count`` threads that GET the list without pause and note what each worker answered, and when."""
    threads = [threading.Thread(target=_poll, args=(base, polls), daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        polls.stop.set()
        for thread in threads:
            thread.join(timeout=10)


def _poll(base: str, polls: Polls) -> None:
    """GET the list until told to stop, recording per worker its answer times and the first answer with each write."""
    host = base.removeprefix("http://")
    while not polls.stop.is_set():
        with polls.lock:
            write = polls.write
        sent = time.perf_counter()
        connection = http.client.HTTPConnection(host, timeout=10)
        connection.request("GET", LIST_URL)
        response = connection.getresponse()
        body = response.read()
        connection.close()
        answered = time.perf_counter()
        worker = int(response.headers[WORKER_HEADER])
        # The old bytes on purpose: the database did not answer the rebuild (a pool timeout, its circuit breaker).
        database_down = "stale" in (response.headers["Cache-Status"] or "")
        with polls.lock:
            polls.answers.setdefault(worker, []).append(answered)
            if write is None or write is not polls.write:
                continue
            if write.marker.encode() in body:
                write.first_seen.setdefault(worker, answered - write.committed)
            elif database_down:
                write.stale_if_error += 1
            elif sent > write.committed:
                write.stale_answers += 1
                write.stale_until[worker] = max(write.stale_until.get(worker, 0.0), sent - write.committed)


def _wait_for_workers(polls: Polls, workers: int) -> set[int]:
    """Return the pids of the workers once each has answered, warming their local copies meanwhile."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with polls.lock:
            seen = set(polls.answers)
        if len(seen) >= workers:
            time.sleep(WARM_UP_SECONDS)
            return seen
        time.sleep(0.05)
    raise RuntimeError(f"only {len(seen)} of {workers} workers answered")


def _first_article(base: str) -> int:
    """Return the id of the first article of the list page."""
    import orjson

    connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=10)
    connection.request("GET", LIST_URL)
    article_id: int = orjson.loads(connection.getresponse().read())["results"][0]["id"]
    connection.close()
    return article_id


def _milliseconds(*values: float) -> list[str]:
    """Return the values as table cells in milliseconds."""
    return [f"{value:.1f} ms" for value in values]


def _percentile(values: list[float], percent: int) -> float:
    """Return the value below which ``percent`` per cent of the values fall (inclusive method)."""
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def _report(
    speed: Speed,
    delays: Mapping[str, CoherenceRun],
    options: argparse.Namespace,
    generator: str,
) -> str:
    """Return the Markdown report of both parts."""
    ratios = [
        local.requests_per_second / plain.requests_per_second
        for local, plain in zip(speed.runs["warm"], speed.runs["raw view"], strict=True)
    ]
    lines = [
        f"# Process-local layer ({options.workers} workers, {generator} -c{options.connections}, "
        f"{options.rounds} rounds of {options.duration:g} s, {PAGE_SIZE} items a page)",
        "",
        "| stage | median req/s | lowest | highest | median p99 | CPU per request in process |",
        "|---|---|---|---|---|---|",
    ]
    for name, runs in speed.runs.items():
        rates = [run.requests_per_second for run in runs]
        p99 = statistics.median(run.p99_ms for run in runs)
        cells = f"{statistics.median(rates):,.0f} | {min(rates):,.0f} | {max(rates):,.0f} | {p99:.2f} ms"
        lines.append(f"| {name} | {cells} | {speed.cpu_us[name]:,.0f} µs |")
    lines += [
        "",
        "Warm list with the local layer / plain view on the same bytes from Redis, median of the rounds' ratios: "
        f"**{statistics.median(ratios):.2f}x** (rounds: {', '.join(f'{ratio:.2f}' for ratio in ratios)}); "
        f"CPU per request in process: {speed.cpu_us['raw view'] / speed.cpu_us['warm']:.2f}x less.",
        "",
    ]
    lines += [
        f"## Coherence after a commit ({options.writes} writes, {options.workers} workers, {options.pollers} pollers)",
        "",
        "Stale window: how long after the commit returned a worker still answered a request sent after it with the "
        "old data. First fresh answer: when it first answered with the new data (rebuild included). Per worker, "
        "and for every worker (the slowest of the write's workers).",
        "",
        "| layer | stale window p50 | p99 | max | every worker p99 | stale answers | first fresh p50 | p99 "
        "| every worker p50 | p99 | not seen in 5 s | polling gap per worker (median) | stale-if-error answers |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, run in delays.items():
        lines.append(_coherence_row(label, run, options.workers))
    return "\n".join(lines) + "\n"


def _coherence_row(label: str, run: CoherenceRun, workers: int) -> str:
    """Return the table row of one coherence run, delays in milliseconds."""
    writes = run.writes
    seen = [write for write in writes if len(write.first_seen) >= workers]
    stale = [write.stale_until.get(worker, 0.0) * 1000 for write in seen for worker in write.first_seen]
    stale_every = [max(write.stale_until.values(), default=0.0) * 1000 for write in seen]
    fresh = [seconds * 1000 for write in seen for seconds in write.first_seen.values()]
    fresh_every = [max(write.first_seen.values()) * 1000 for write in seen]
    answers = sum(write.stale_answers for write in writes)
    stale_cells = [_percentile(stale, 50), _percentile(stale, 99), max(stale), _percentile(stale_every, 99)]
    cells = [label, *_milliseconds(*stale_cells)]
    fresh_cells = [_percentile(values, percent) for values in (fresh, fresh_every) for percent in (50, 99)]
    cells += [str(answers), *_milliseconds(*fresh_cells)]
    cells += [str(len(writes) - len(seen)), *_milliseconds(run.polling_gap_ms)]
    cells += [str(sum(write.stale_if_error for write in writes))]
    return "| " + " | ".join(cells) + " |"


if __name__ == "__main__":
    main()
