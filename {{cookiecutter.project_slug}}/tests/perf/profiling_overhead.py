"""What profiling costs: the same endpoint served with Server-Timing off, on, and with Silk sampling 1%.

``make bench-profiling`` runs it: one gunicorn per stage (the project's gunicorn.conf.py, production settings,
the configured database and cache), loaded in turn by wrk for several interleaved rounds; it prints the medians
and writes them to var/bench/profiling-overhead.json. It reports speed; it asserts none.
"""

import argparse
import json
import statistics
import sys
import urllib.request
from contextlib import ExitStack
from dataclasses import asdict

from tests.perf.load import LoadResult, add_load_options, load_generator, rounds_in_turn, run_load
from tests.perf.servers import PROJECT, gunicorn, prepare, production_env

RESULTS = PROJECT / "var" / "bench" / "profiling-overhead.json"
HAS_SILK = (PROJECT / "settings" / "tools" / "silk.py").exists()
STAGES = {
    "Server-Timing off": {"DJANGO_SERVER_TIMING": "off", "DJANGO_TOOLS": ""},
    "Server-Timing on": {"DJANGO_SERVER_TIMING": "on", "DJANGO_TOOLS": ""},
}
if HAS_SILK:
    STAGES["Silk sampling 1%"] = {
        "DJANGO_SERVER_TIMING": "off",
        "DJANGO_TOOLS": "silk",
        "DJANGO_SILK_SAMPLE_RATE": "0.01",
    }
BASELINE = "Server-Timing off"
FIRST_PORT = 8101


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
    print(
        f"\n{options.path}, {options.workers} gunicorn workers, {options.connections} connections, "
        f"{options.rounds} rounds of {options.duration:g} s a stage (medians):\n\n{table}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({stage: [asdict(run) for run in results] for stage, results in runs.items()}))
    print(f"\nWritten to {RESULTS.relative_to(PROJECT)}")


def _parse_arguments() -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="/health/", help="the endpoint to load, with its query string")
    add_load_options(parser)
    return parser.parse_args()


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
    lines = ["| stage | req/s (median; rounds) | p50 | p99 | vs off (median of rounds) |", "|---|---|---|---|---|"]
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
