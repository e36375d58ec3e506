"""The fault suite's figures: what each fault's exchanges came to, as a table and in var/chaos/results.md/json.

A request is in flight at the fault when it started before the injection returned and ended after it began (the
injection takes milliseconds, or for a restart the restart's own second): those are the only requests a fault may
cost (a killed worker's request, a query cut by a database restart). Every other 5xx, or
request left unanswered, is a failure; a 503 with Retry-After while the database is down is the fail-fast answer,
counted on its own.
"""

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.chaos.load import Exchange

# After a fault ends, every acknowledged write must show in the cached detail and list within this many seconds
# (the entries' TTL, 300 s, must never be what ends a stale window).
STALE_BOUND_SECONDS = 10.0
# How long a stale window is watched: past the bound, so an overrun is seen, yet far from the 300 s TTL.
STALE_WATCH_SECONDS = STALE_BOUND_SECONDS + 2
MAX_FAILURES_LISTED = 10


@dataclass(frozen=True)
class Window:
    """When the fault's injection began and returned, and when the fault was over, on the monotonic clock.

    The injection is the instant of the fault: a signal sent, a setting changed, or for a restart the restart itself.
    """

    injecting: float
    injected: float
    recovered: float

    def in_flight(self, exchange: Exchange) -> bool:
        """Return whether the request overlapped the injection: started before it returned, ended after it began."""
        return exchange.started < self.injected and exchange.ended > self.injecting


@dataclass
class Figures:
    """One fault's figures; the stale windows are None when nothing was measured (or nothing showed in time)."""

    fault: str
    title: str
    requests: int = 0
    ok: int = 0
    client_errors: int = 0
    fail_fast: int = 0
    server_errors: int = 0
    no_answer: int = 0
    injection_seconds: float = 0.0
    in_flight: int = 0
    failed_in_flight: int = 0
    failed_outside: int = 0
    #: The first failures beyond the requests in flight, each as "METHOD path status, at +s after injection, took s".
    failures: list[str] = field(default_factory=list)
    slowest_seconds: float = 0.0
    acknowledged_writes: int = 0
    missing_writes: list[str] = field(default_factory=list)
    in_fault_write_acknowledged: bool = False
    stale_in_fault_seconds: float | None = None
    after_write_acknowledged: bool = False
    stale_after_seconds: float | None = None

    def problems(self) -> list[str]:
        """Return how the figures fall short of the requirements, one sentence each."""
        found = []
        if self.missing_writes:
            found.append(f"{len(self.missing_writes)} acknowledged writes missing: {self.missing_writes[:5]}")
        if self.failed_outside:
            found.append(
                f"{self.failed_outside} 5xx or unanswered requests beyond the {self.in_flight} in flight: "
                f"{self.failures}"
            )
        if self.in_fault_write_acknowledged and not _bounded(self.stale_in_fault_seconds):
            found.append(
                f"a write during the fault was stale {_seconds(self.stale_in_fault_seconds)} after it ended "
                f"(bound {STALE_BOUND_SECONDS:.0f} s)"
            )
        if not self.after_write_acknowledged:
            found.append("the write after recovery was not acknowledged")
        elif not _bounded(self.stale_after_seconds):
            found.append(
                f"the write after recovery was stale {_seconds(self.stale_after_seconds)} "
                f"(bound {STALE_BOUND_SECONDS:.0f} s)"
            )
        return found


def count(figures: Figures, exchanges: Sequence[Exchange], window: Window, *, database_outage: bool) -> None:
    """Add the exchanges' counts to the figures."""
    figures.injection_seconds = window.injected - window.injecting
    for exchange in exchanges:
        status = exchange.status
        figures.requests += 1
        figures.in_flight += window.in_flight(exchange)
        figures.slowest_seconds = max(figures.slowest_seconds, exchange.ended - exchange.started)
        if status is not None and status < 500:
            figures.ok += 200 <= status < 300
            figures.client_errors += 400 <= status < 500
            continue
        if status == 503 and exchange.retry_after and database_outage:
            figures.fail_fast += 1
            continue
        if status is None:
            figures.no_answer += 1
        else:
            figures.server_errors += 1
        if window.in_flight(exchange):
            figures.failed_in_flight += 1
            continue
        figures.failed_outside += 1
        if len(figures.failures) < MAX_FAILURES_LISTED:
            figures.failures.append(
                f"{exchange.method} {exchange.path} {exchange.status or 'no answer'}, "
                f"at {exchange.started - window.injecting:+.2f} s, took {exchange.ended - exchange.started:.1f} s"
            )


def _bounded(seconds: float | None) -> bool:
    """Return whether a stale window was measured and within the bound."""
    return seconds is not None and seconds <= STALE_BOUND_SECONDS


def _seconds(seconds: float | None) -> str:
    """Return a stale window for a sentence."""
    return f"more than {STALE_WATCH_SECONDS:.0f} s" if seconds is None else f"{seconds:.1f} s"


COLUMNS = [
    ("fault", "fault"),
    ("requests", "requests"),
    ("2xx", "ok"),
    ("4xx", "client_errors"),
    ("503 fail-fast", "fail_fast"),
    ("other 5xx", "server_errors"),
    ("no answer", "no_answer"),
    ("injection", "injection_seconds"),
    ("in flight at fault", "in_flight"),
    ("failed in flight", "failed_in_flight"),
    ("failed beyond in-flight", "failed_outside"),
    ("acked writes", "acknowledged_writes"),
    ("missing writes", "missing_writes"),
    ("stale: write in fault", "stale_in_fault_seconds"),
    ("stale: write after", "stale_after_seconds"),
    ("slowest", "slowest_seconds"),
]


def _cell(figures: Figures, name: str) -> str:
    """Return one cell of the table."""
    value = getattr(figures, name)
    if name == "fault":
        return figures.title
    if name == "missing_writes":
        return str(len(value))
    if name == "stale_in_fault_seconds" and not figures.in_fault_write_acknowledged:
        return "no ack"
    if name in {"stale_in_fault_seconds", "stale_after_seconds"}:
        return f"> {STALE_WATCH_SECONDS:.0f} s" if value is None else f"{value:.1f} s"
    if name in {"slowest_seconds", "injection_seconds"}:
        return f"{value:.1f} s"
    return str(value)


def table(results: Sequence[Figures]) -> str:
    """Return the figures as a Markdown table."""
    lines = ["| " + " | ".join(header for header, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for figures in results:
        lines.append("| " + " | ".join(_cell(figures, name) for _, name in COLUMNS) + " |")
    return "\n".join(lines)


def write_results(results: Sequence[Figures], folder: Path, *, legend: str) -> None:
    """Write the table to results.md and every figure to results.json in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.md").write_text(f"{legend}\n\n{table(results)}\n")
    document = {
        "stale_bound_seconds": STALE_BOUND_SECONDS,
        "stale_watch_seconds": STALE_WATCH_SECONDS,
        "faults": [asdict(figures) for figures in results],
    }
    (folder / "results.json").write_text(json.dumps(document, indent=2) + "\n")
