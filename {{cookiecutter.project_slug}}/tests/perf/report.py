"""The benchmark's report: Markdown tables, the machine and command they came from, JSON, and the charts."""

import json
import shlex
import statistics
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.perf.chart import stage_chart, sweep_chart
from tests.perf.edge_writes import EdgeWrites, table
from tests.perf.load import LoadResult
from tests.perf.machine import machine


@dataclass(frozen=True)
class Stage:
    """One way of serving the list: its number, its name, its path and what it changes."""

    number: int
    name: str
    path: str
    what: str
    conditional: bool = False
    ceiling: bool = False
    edge: bool = False


@dataclass
class StageResult:
    """What was measured for one stage at one page size."""

    stage: Stage
    page_size: int
    items: int
    queries: int
    body_bytes: int
    cpu_us: float
    runs: list[LoadResult] = field(default_factory=list)
    server: str = "gunicorn"

    def median(self, name: str) -> float:
        """Return the median of one LoadResult field over the rounds."""
        return float(statistics.median(getattr(run, name) for run in self.runs))

    def ratio_to(self, other: "StageResult") -> float:
        """Return the median, over the rounds, of this stage's requests per second over other's in the same round.

        Both ran within the same round, minutes apart at most, so a machine that slows down between rounds moves
        both and leaves their ratio.
        """
        pairs = zip(self.runs, other.runs, strict=True)
        ratios = [mine.requests_per_second / theirs.requests_per_second for mine, theirs in pairs]
        return float(statistics.median(ratios))

    @property
    def label(self) -> str:
        """Return the stage's number and name."""
        return f"{self.stage.number} {self.stage.name}"

    @property
    def us_per_item(self) -> float:
        """Return the server's wall time per item under load: one over (requests per second times items)."""
        return 1e6 / (self.median("requests_per_second") * self.items)


def command() -> str:
    """Return the make command that reproduces this run."""
    arguments = shlex.join(sys.argv[1:])
    return f'make bench BENCH_ARGS="{arguments}"' if arguments else "make bench"


def stage_table(results: list[StageResult]) -> str:
    """Return the stages' Markdown table, with each stage's throughput as a ratio to stages 2 and 8."""
    by_number = {result.stage.number: result for result in results}
    lines = [
        "| # | stage | req/s | p50 | p99 | queries | bytes | CPU/request | vs 2 | vs 8 |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for result in results:
        rate = result.median("requests_per_second")
        versus = " | ".join(f"{result.ratio_to(by_number[n]):.2f}x" if n in by_number else "-" for n in (2, 8))
        lines.append(
            f"| {result.stage.number} | {result.stage.name} | {rate:,.0f} | {result.median('p50_ms'):.2f} ms "
            f"| {result.median('p99_ms'):.2f} ms | {result.queries} | {result.body_bytes:,} | {result.cpu_us:,.0f} µs "
            f"| {versus} |"
        )
    return "\n".join(lines)


def server_table(compared: list[StageResult]) -> str:
    """Return each stage's req/s and p99 under each server, and each other server's req/s as a ratio to the first's."""
    servers = list(dict.fromkeys(result.server for result in compared))
    by_case = {(result.server, result.stage.number, result.page_size): result for result in compared}
    first, others = servers[0], servers[1:]
    header = " | ".join(f"{server} req/s | {server} p99" for server in servers)
    ratios = " | ".join(f"{server}/{first}" for server in others)
    lines = [f"| # | stage | {header} | {ratios} |", "|---|---|" + "--:|" * (2 * len(servers) + len(others))]
    for result in compared:
        if result.server != first:
            continue
        row = [by_case[server, result.stage.number, result.page_size] for server in servers]
        cells = " | ".join(f"{run.median('requests_per_second'):,.0f} | {run.median('p99_ms'):.2f} ms" for run in row)
        versus = " | ".join(f"{each.ratio_to(result):.2f}x" for each in row[1:])
        lines.append(f"| {result.stage.number} | {result.stage.name} | {cells} | {versus} |")
    return "\n".join(lines)


def sweep_table(sweep: list[StageResult]) -> str:
    """Return the page-size sweep's Markdown table: each stage's cost per item at each page size."""
    smallest: dict[int, StageResult] = {}
    for result in sweep:
        if result.stage.number not in smallest or result.items < smallest[result.stage.number].items:
            smallest[result.stage.number] = result
    lines = [
        "| stage | items | req/s | µs per item | CPU µs per item | queries | µs per item vs smallest page |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for result in sorted(sweep, key=lambda result: (result.stage.number, result.items)):
        growth = result.us_per_item / smallest[result.stage.number].us_per_item
        lines.append(
            f"| {result.label} | {result.items:,} | {result.median('requests_per_second'):,.0f} "
            f"| {result.us_per_item:,.1f} | {result.cpu_us / result.items:,.1f} | {result.queries} | {growth:.2f}x |"
        )
    return "\n".join(lines)


# The targets of one stage against another: (stage, other stage, at least this ratio, a stretch goal).
RATIO_TARGETS = [
    ("warm", "raw view", 1.0, False),
    ("304", "warm", 1.0, False),
    ("cold", "optimized", 3.0, False),
    ("cold", "optimized", 5.0, True),
    ("cold", "django-ninja", 1.2, False),
    ("cold", "django-ninja", 2.0, True),
    ("edge", "warm", 10.0, False),
]


def targets(results: list[StageResult], sweep: list[StageResult], edge_writes: EdgeWrites | None = None) -> str:
    """Return the template's performance targets, each with what this run measured and whether it is met."""
    stage = {result.stage.name: result for result in results}
    lines = ["| target | measured | met |", "|---|--:|---|"]

    def add(target: str, measured: str, met: bool) -> None:
        lines.append(f"| {target} | {measured} | {'yes' if met else 'no'} |")

    for name, other, floor, stretch in RATIO_TARGETS:
        if name in stage and other in stage:
            ratio = stage[name].ratio_to(stage[other])
            note = " (stretch)" if stretch else ""
            add(f"{name} req/s at least {floor:g}x {other}'s{note}", f"{ratio:.2f}x", ratio >= floor)
    if "warm" in stage:
        p99 = stage["warm"].median("p99_ms")
        add("warm p99 under 10 ms", f"{p99:.2f} ms", p99 < 10)
    if "edge" in stage:
        p99 = stage["edge"].median("p99_ms")
        add("edge p99 under 2 ms", f"{p99:.2f} ms", p99 < 2)
    if edge_writes is not None:
        added = edge_writes.added_ms
        add("purging adds under 2 ms to a write", f"{added:.2f} ms", added < 2)
        add(
            "no stale read through the edge after a write's answer",
            str(edge_writes.stale_reads),
            not edge_writes.stale_reads,
        )
    for name in ("warm", "304"):
        if name in stage:
            add(f"{name}: no query", str(stage[name].queries), stage[name].queries == 0)
    for name in ("values", "cold"):
        pages = [result for result in results + sweep if result.stage.name == name]
        if pages:
            counts = sorted({result.queries for result in pages})
            constant = counts[-1] <= 3 and len(counts) == 1
            add(f"{name}: a list page at most 3 queries, whatever its size", ", ".join(map(str, counts)), constant)
    for number in sorted({result.stage.number for result in sweep}):
        # The two largest pages: on small ones the per-request cost dominates, and the cost per item falls anyway.
        sizes = sorted((result for result in sweep if result.stage.number == number), key=lambda result: result.items)
        if len(sizes) > 1:
            larger, large = sizes[-1], sizes[-2]
            growth = larger.us_per_item / large.us_per_item
            target = f"{larger.label}: µs per item at {larger.items:,} items no higher than at {large.items:,}"
            add(target, f"{growth:.2f}x", growth <= 1.0)
    return "\n".join(lines)


def legend(results: list[StageResult]) -> str:
    """Return what each stage changes, as a Markdown list."""
    stages = {result.stage.number: result.stage for result in results}
    return "\n".join(f"- **{stage.number} {stage.name}**: {stage.what}" for stage in stages.values())


def write(
    results: list[StageResult],
    sweep: list[StageResult],
    *,
    settings: dict[str, Any],
    folder: Path,
    compared: list[StageResult] | None = None,
    edge_writes: EdgeWrites | None = None,
) -> None:
    """Print the report and write it to folder as results.md, results.json, stages.png and sweep.png.

    ``compared`` holds the stages under every server, results' server first; with two servers or more it adds their
    table.
    """
    folder.mkdir(parents=True, exist_ok=True)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rounds = f"{settings['rounds']} round{'s' if settings['rounds'] != 1 else ''}"
    servers = settings.get("servers", ["gunicorn"])
    workers = f"{servers[0]} workers" if len(servers) == 1 else f"workers per server ({', '.join(servers)})"
    load = (
        f"{settings['workers']} {workers}, load from {settings['generator']} with {settings['connections']} "
        f"connections, {rounds} of {settings['duration']:g} s a stage (medians)"
    )
    setup = f"{settings['items_per_page']} items a page, {load}"
    host = machine()
    sections = [
        f"Measured {when} on {host} by `{command()}`: {setup}; ratios are medians of the rounds' ratios.",
        stage_table(results),
        legend(results),
        "Queries are those of one request; bytes, its body; CPU/request, this process's CPU time for one request "
        "called straight through WSGI, without the network.",
    ]
    if compared and len(servers) > 1:
        sections += [
            f"The same stages under each server, loaded in the same rounds. Ratios are medians of the rounds' ratios; "
            f"the other tables are {servers[0]}'s.",
            server_table(compared),
        ]
    if sweep:
        sections += [
            "Page-size sweep: µs per item is 1,000,000 / (req/s * items), the inverse of the items served per "
            "second under load; CPU µs per item is CPU/request divided by the items.",
            sweep_table(sweep),
        ]
    if edge_writes is not None:
        sections += [
            f"Writes and the edge ({edge_writes.writes} writes each way; the first three rows alternate the two "
            "servers, the others go through the edge):",
            table(edge_writes),
        ]
    sections += [
        "The template's targets (ratios are medians of the rounds' ratios):",
        targets(results, sweep, edge_writes),
    ]
    text = "\n\n".join(sections) + "\n"
    references = {result.stage.number: result for result in results if result.stage.number in (2, 8)}
    print("\n" + text)
    (folder / "results.md").write_text(text)
    data = {
        "measured": when,
        "machine": host,
        "command": command(),
        "settings": settings,
        "stages": [
            _as_json(result) | {"ratio_to": {n: result.ratio_to(other) for n, other in references.items()}}
            for result in results
        ],
        "sweep": [_as_json(result) for result in sweep],
        "servers": [_as_json(result) for result in compared or [] if len(servers) > 1],
        "edge_writes": asdict(edge_writes) | {"added_ms": edge_writes.added_ms} if edge_writes else None,
    }
    (folder / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    _charts(results, sweep, subtitles=(f"{host}\n{setup}", f"{host}\n{load}"), folder=folder)
    print(f"Written to {folder}: results.md, results.json, stages.png" + (", sweep.png" if sweep else ""))


def _as_json(result: StageResult) -> dict[str, Any]:
    """Return one result as JSON-ready data, with its medians."""
    medians = {name: result.median(name) for name in ("requests_per_second", "p50_ms", "p99_ms")}
    return {**asdict(result), "medians": medians, "us_per_item": result.us_per_item}


def _charts(results: list[StageResult], sweep: list[StageResult], *, subtitles: tuple[str, str], folder: Path) -> None:
    """Draw the stages' bar chart and, with a sweep, the cost-per-item chart."""
    stage_chart(
        [(result.label, result.median("requests_per_second")) for result in results],
        ceilings={result.label for result in results if result.stage.ceiling},
        title="GET /api/articles/ at each stage of optimization",
        subtitle=subtitles[0],
        path=folder / "stages.png",
    )
    if sweep:
        series: dict[str, dict[int, float]] = {}
        for result in sorted(sweep, key=lambda result: (result.stage.number, result.items)):
            series.setdefault(result.label, {})[result.items] = result.us_per_item
        sweep_chart(series, title="Cost per item as the page grows", subtitle=subtitles[1], path=folder / "sweep.png")
