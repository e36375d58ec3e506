"""Load generators: wrk when it is installed, else a Python one that is slower than the servers it measures."""

import argparse
import http.client
import re
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

WRK_INSTALL = "install wrk for real numbers: apt-get install wrk (Debian, Ubuntu) or brew install wrk (macOS)"
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def add_load_options(parser: argparse.ArgumentParser) -> None:
    """Add the options every benchmark shares: load duration, connections, rounds and gunicorn workers."""
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of load per stage and round")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server (default: %(default)s)")


def rounds_in_turn(stages: int, rounds: int) -> Iterator[tuple[int, int]]:
    """Yield (round number from 1, stage index) for every stage of every round, each round starting one stage on.

    So no stage always runs first, or always right after the same one.
    """
    for round_number in range(rounds):
        for step in range(stages):
            yield round_number + 1, (round_number + step) % stages


def load_generator() -> str:
    """Return the name of the load generator run_load will use, warning when the Python one stands in for wrk."""
    if shutil.which("wrk"):
        return "wrk"
    print(f"WARNING: wrk not found, using the Python load generator, which limits the numbers: {WRK_INSTALL}.")
    return "the Python load generator"


def run_load(url: str, *, duration: float, connections: int, headers: Mapping[str, str] | None = None) -> LoadResult:
    """Return the throughput and latency of GET url under the given concurrency, measured with wrk if possible."""
    if shutil.which("wrk"):
        return _wrk(url, duration, connections, headers or {})
    return _python_load(url, duration, connections, headers or {})


def _wrk(url: str, duration: float, connections: int, headers: Mapping[str, str]) -> LoadResult:
    """Return what ``wrk -t1 --latency`` measured."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return LoadResult(
        requests_per_second=float(_find(r"Requests/sec:\s+([\d.]+)", output)),
        p50_ms=_milliseconds(_find(r"^\s+50%\s+(\S+)", output)),
        p99_ms=_milliseconds(_find(r"^\s+99%\s+(\S+)", output)),
        errors=(int(non_2xx[1]) if non_2xx else 0) + (sum(map(int, socket_errors.groups())) if socket_errors else 0),
    )


def _find(pattern: str, text: str) -> str:
    """Return the first group of pattern in wrk's output."""
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no {pattern!r}:\n{text}")
    return match[1]


def _milliseconds(value: str) -> float:
    """Return a wrk duration such as 2.86ms or 512.00us in milliseconds."""
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * UNITS_MS[unit]


def _python_load(url: str, duration: float, connections: int, headers: Mapping[str, str]) -> LoadResult:
    """Return what keep-alive connections on threads measured; the client, not the server, limits the numbers."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[float] = []
    errors: list[int] = []
    deadline = time.perf_counter() + duration

    def client() -> None:
        connection = http.client.HTTPConnection(parts.netloc, timeout=10)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            connection.request("GET", target, headers=dict(headers))
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - started)
            if response.status >= 400:
                errors.append(response.status)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cuts = statistics.quantiles(latencies, n=100)
    return LoadResult(len(latencies) / duration, cuts[49] * 1000, cuts[98] * 1000, len(errors))
