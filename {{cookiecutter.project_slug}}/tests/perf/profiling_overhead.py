"""What profiling costs: the same endpoint served with Server-Timing off and on, and with Silk.

``make bench-profiling`` runs it. Under load: one gunicorn per stage (the project's gunicorn.conf.py, production
settings, the configured database and cache), loaded in turn by wrk for several interleaved rounds. Silk runs at its
production default (the default sample rate and ``DJANGO_SILK_MAX_PER_MINUTE``) and at a 1% sample with no cap.
In process (tests/perf/in_process.py): the nanoseconds per request of each middleware, the project's WSGI handlers
called directly, side by side. It prints both tables and writes them to var/bench/profiling-overhead.json. It reports
speed; it asserts none.
"""

import argparse
import json
import statistics
import subprocess
import sys
import urllib.request
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from typing import Any

from tests.perf.in_process import BASELINE as IN_PROCESS_BASELINE
from tests.perf.in_process import SILK_NOT_RECORDING, SILK_RECORDING
from tests.perf.load import LoadResult, add_load_options, load_generator, rounds_in_turn, run_load
from tests.perf.servers import PROJECT, gunicorn, prepare, production_env

RESULTS = PROJECT / "var" / "bench" / "profiling-overhead.json"
HAS_SILK = (PROJECT / "settings" / "tools" / "silk.py").exists()
STAGES = {
    "Server-Timing off": {"DJANGO_SERVER_TIMING": "off", "DJANGO_TOOLS": ""},
    "Server-Timing on": {"DJANGO_SERVER_TIMING": "on", "DJANGO_TOOLS": ""},
}
if HAS_SILK:
    # Production's defaults: the sample rate and the per-minute cap settings/tools/silk.py gives production.
    STAGES["Silk at the production default"] = {"DJANGO_SERVER_TIMING": "off", "DJANGO_TOOLS": "silk"}
    STAGES["Silk sampling 1%, no cap"] = {
        "DJANGO_SERVER_TIMING": "off",
        "DJANGO_TOOLS": "silk",
        "DJANGO_SILK_SAMPLE_RATE": "0.01",
        "DJANGO_SILK_MAX_PER_MINUTE": "",
    }
BASELINE = "Server-Timing off"
FIRST_PORT = 8101
# What one round of the load costs is not comparable across stages this few rounds make noisy: say at least 5.
DEFAULT_ROUNDS = 5


def main() -> None:
    """Measure each stage and print the table."""
    options = _parse_arguments()
    load_generator()
    prepare(production_env(DJANGO_TOOLS="silk" if HAS_SILK else ""))
    runs: dict[str, list[LoadResult]] = {stage: [] for stage in STAGES}
    with ExitStack() as servers:
        urls = {
            stage: servers.enter_context(
                gunicorn(FIRST_PORT + number, workers=options.workers, env=production_env(**variables))
            )
            + options.path
            for number, (stage, variables) in enumerate(STAGES.items())
        }
        _check_same_body(urls)
        stages = list(urls)
        for round_number, index in rounds_in_turn(len(stages), options.rounds):
            stage = stages[index]
            runs[stage].append(run_load(urls[stage], duration=options.duration, connections=options.connections))
            print(f"round {round_number}: {stage}: {runs[stage][-1].requests_per_second:,.0f} req/s")
    table = _table(runs)
    in_process = _in_process(options)
    batches = in_process["batches"]
    print(
        f"\n{options.path}, {options.workers} gunicorn workers, {options.connections} connections, "
        f"{options.rounds} rounds of {options.duration:g} s a stage (medians):\n\n{table}"
    )
    print(
        f"\nIn process, {options.path}, the WSGI handlers called directly, {options.in_process_rounds} rounds of "
        f"{options.in_process_requests} requests (medians):\n\n{_in_process_table(batches)}"
    )
    print(f"\n{_timing_share(batches, runs[BASELINE], options.workers)}")
    if SILK_RECORDING in batches:
        print(f"\n{_silk_ceiling(batches, in_process['silk_max_per_minute'], options.path)}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "load": {stage: [asdict(run) for run in results] for stage, results in runs.items()},
                "in_process": in_process,
            }
        )
    )
    print(f"\nWritten to {RESULTS.relative_to(PROJECT)}")


def _parse_arguments() -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="/health/", help="the endpoint to load, with its query string")
    add_load_options(parser)
    parser.set_defaults(rounds=DEFAULT_ROUNDS)
    parser.add_argument("--in-process-rounds", type=int, default=40, help="rounds of the in-process measurement")
    parser.add_argument("--in-process-requests", type=int, default=200, help="requests per in-process batch")
    return parser.parse_args()


def _in_process(options: argparse.Namespace) -> dict[str, Any]:
    """Return the in-process figures: ns per request of each configuration (one a round), Silk's per-minute cap."""
    command = [sys.executable, "-m", "tests.perf.in_process", "--path", options.path]
    command += ["--requests", str(options.in_process_requests), "--rounds", str(options.in_process_rounds)]
    env = production_env(DJANGO_TOOLS="silk" if HAS_SILK else "", DJANGO_SERVER_TIMING="off")
    output = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, check=False)
    if output.returncode != 0:
        sys.exit(f"The in-process measurement failed:\n{output.stderr}")
    results: dict[str, Any] = json.loads(output.stdout.splitlines()[-1])
    return results


def _in_process_table(batches: dict[str, list[dict[str, float]]]) -> str:
    """Return the Markdown table of ns per request; a difference is the median of the per-round differences."""
    lines = [
        "| configuration (in process) | CPU ns/request | vs off (median of rounds) | wall ns/request | vs off |",
        "|---|---|---|---|---|",
    ]
    for name in batches:
        cpu = _per_request(batches, name, "cpu_ns")
        wall = _per_request(batches, name, "wall_ns")
        lines.append(
            f"| {name} | {cpu.median:,.0f} | {cpu.extra:+,.0f} ns ({cpu.share:+.1%}) "
            f"| {wall.median:,.0f} | {wall.extra:+,.0f} ns ({wall.share:+.1%}) |"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class PerRequest:
    """A configuration's median time per request, and the median of its per-round differences to "off"."""

    median: float
    extra: float
    share: float


def _per_request(batches: dict[str, list[dict[str, float]]], name: str, clock: str) -> PerRequest:
    """Return a configuration's figures on one clock (cpu_ns or wall_ns).

    Silk recording runs after the rounds the others take in turn: its difference is one of medians, not per round.
    """
    figures = [batch[clock] for batch in batches[name]]
    base = [batch[clock] for batch in batches[IN_PROCESS_BASELINE]]
    if name == SILK_RECORDING:
        extra = statistics.median(figures) - statistics.median(base)
    else:
        extra = statistics.median(figure - off for figure, off in zip(figures, base, strict=True))
    return PerRequest(statistics.median(figures), extra, extra / statistics.median(base))


def _timing_share(batches: dict[str, list[dict[str, float]]], off: list[LoadResult], workers: int) -> str:
    """Return Server-Timing's in-process cost as a share of a worker's time per request at the load's "off" rate.

    It is what the load figure would show without the noise: every request costs each worker that much more CPU.
    """
    extra = _per_request(batches, "Server-Timing on", "cpu_ns").extra
    rate = statistics.median(run.requests_per_second for run in off)
    per_request = workers * 1e9 / rate
    return (
        f"Server-Timing on, in process: {extra:+,.0f} ns of CPU a request; at the {rate:,.0f} req/s served with it "
        f"off ({workers} workers: {per_request / 1000:,.0f} us of a worker a request): "
        f"{extra / per_request:.1%} of its time."
    )


def _silk_ceiling(batches: dict[str, list[dict[str, float]]], cap: int | None, path: str) -> str:
    """Return what Silk at the production default costs a busy worker at most, from the in-process figures.

    A worker that is never idle spends on Silk the cost of passing every request it does not record (CPU: it does no
    I/O), plus at most the cap's recordings a minute (wall-clock: a recording waits on the database, and a sync
    worker serves nothing meanwhile), whatever the sample rate and the traffic.
    """
    passing = _per_request(batches, SILK_NOT_RECORDING, "cpu_ns")
    recording = _per_request(batches, SILK_RECORDING, "wall_ns").extra
    if not path.startswith("/api/"):
        return f"Silk records /api/ requests only, so never {path}: it costs {passing.share:+.1%} there."
    if cap is None:
        return f"Silk records {recording / 1e6:,.1f} ms a request, with no cap a minute: its cost follows the traffic."
    recordings_share = cap * recording / 60e9
    return (
        f"Silk at the production default, at most: {passing.share:+.1%} (each request not recorded: "
        f"{passing.extra:+,.0f} ns of CPU) + {recordings_share:.1%} ({cap} recordings a minute, "
        f"{recording / 1e6:,.1f} ms each) = {passing.share + recordings_share:.1%} of a busy worker's time."
    )


def _check_same_body(urls: dict[str, str]) -> None:
    """Warm every server and make sure they all answer 200 with the same body."""
    bodies = set()
    for url in urls.values():
        for _ in range(20):
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a loopback URL of our own
                body = response.read()
        bodies.add(body)
    if len(bodies) != 1:
        sys.exit("The stages answered with different bodies: they would not measure the same work.")


def _table(runs: dict[str, list[LoadResult]]) -> str:
    """Return the Markdown table of the medians; a stage's ratio is the median of its per-round ratios to "off"."""
    lines = [
        "| stage (under load) | req/s (median; rounds) | p50 | p99 | vs off (median of rounds) |",
        "|---|---|---|---|---|",
    ]
    for stage, results in runs.items():
        rates = [run.requests_per_second for run in results]
        ratios = [
            run.requests_per_second / base.requests_per_second
            for run, base in zip(results, runs[BASELINE], strict=True)
        ]
        rounds = " / ".join(f"{rate:,.0f}" for rate in rates)
        p50 = statistics.median(run.p50_ms for run in results)
        p99 = statistics.median(run.p99_ms for run in results)
        errors = sum(run.errors for run in results)
        note = f" ({errors} errors)" if errors else ""
        lines.append(
            f"| {stage}{note} | {statistics.median(rates):,.0f} ({rounds}) | {p50:.2f} ms | {p99:.2f} ms "
            f"| {statistics.median(ratios):.3f}x ({min(ratios):.3f} to {max(ratios):.3f}) |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
