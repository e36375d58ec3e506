"""One fault under load, step by step: warm up, inject, hold, recover, measure the stale windows, check the writes.

1. Readers and writers load the server for WARM_SECONDS.
2. The fault is injected and held; halfway through, the prober changes the probe article's title. A cache fault
   is injected between two writes, right after the probe's detail and list were read (so cached, current).
3. Writers stop before the fault ends: a write after recovery would rebuild every entry and hide an invalidation
   the fault lost. Before a cache fault ends their last requests (the prober's too) finish; the others get
   QUIET_SECONDS.
4. The fault is ended. Readers go on (RECOVERY_SECONDS at least) while the stale window of the prober's write is
   measured: the time from recovery until the probe's cached detail and list both show it.
5. Once the server is healthy, the prober writes again and that write's stale window is measured.
6. Every acknowledged write is looked up in the database through the ORM.
"""

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any

from tests.chaos.faults import Fault, World
from tests.chaos.load import (
    READERS,
    REQUEST_TIMEOUT,
    WRITERS,
    Client,
    Reader,
    WriteLog,
    Writer,
    expected_writes,
    read_paths,
    writes_held,
)
from tests.chaos.report import STALE_WATCH_SECONDS, Figures, Window, count
from tests.perf.servers import PROJECT

WARM_SECONDS = 1.5
QUIET_SECONDS = 1.5
RECOVERY_SECONDS = 2.0
STALE_POLL_SECONDS = 0.1
HEALTHY_SECONDS = 30.0


def run(fault: Fault, world: World) -> Figures:
    """Return the figures of one fault under load."""
    figures = Figures(fault.name, fault.title)
    wait_until_healthy(world)
    client = Client(world.base)
    prober = WriteLog()
    window, logs = _under_load(fault, world, client, prober, figures)
    after = f"{fault.name} after {uuid.uuid4().hex[:8]}"
    wait_until_healthy(world)
    figures.after_write_acknowledged, acknowledged_at = _retitle_probe(client, world, prober, after)
    if figures.after_write_acknowledged:
        figures.stale_after_seconds = _stale_seconds(client, world, after, since=acknowledged_at)
    figures.acknowledged_writes = sum(log.acknowledged for log in logs)
    figures.missing_writes = missing_writes(world, logs)
    count(figures, client.exchanges, window, database_outage=fault.database_outage)
    return figures


def _under_load(
    fault: Fault, world: World, client: Client, prober: WriteLog, figures: Figures
) -> tuple[Window, list[WriteLog]]:
    """Run steps 1 to 4; return when the fault was injected and when it was over, and every client's writes."""
    stop_writes, stop_reads = threading.Event(), threading.Event()
    writers = [Writer(number, client, world.writer_token, stop_writes) for number in range(WRITERS)]
    paths = read_paths(articles=world.articles, probe=world.probe, prober_author=world.prober_author)
    readers = [Reader(number, client, paths, stop_reads) for number in range(READERS)]
    marker = f"{fault.name} in fault {uuid.uuid4().hex[:8]}"
    marked: list[tuple[bool, float]] = []
    probe_write = threading.Thread(
        target=lambda: marked.append(_retitle_probe(client, world, prober, marker)), daemon=True
    )
    for thread in [*writers, *readers]:
        thread.start()
    try:
        time.sleep(WARM_SECONDS)
        try:
            # A cache fault starts while the probe's entries are current and no write is in flight, as for any hot
            # entry, so an invalidation the fault loses leaves them stale. The other faults hit writes in flight.
            with writes_held(writers) if fault.target == "redis" else nullcontext():
                _read_probe(client, world)
                injecting = time.monotonic()
                fault.inject(world)
                injected = time.monotonic()
            time.sleep(fault.hold / 2)
            probe_write.start()
            time.sleep(fault.hold / 2)
            stop_writes.set()
            # A cache fault ends with no write in flight: a version bump still blocked by it would land at the
            # recovery and hide the one it lost. The database faults keep writes waiting until they end.
            _join([*writers, probe_write], REQUEST_TIMEOUT if fault.target == "redis" else QUIET_SECONDS)
        finally:
            fault.recover(world)
        recovered = time.monotonic()
        _join([probe_write], REQUEST_TIMEOUT)
        if marked and marked[0][0]:
            figures.in_fault_write_acknowledged = True
            since = max(recovered, marked[0][1])
            figures.stale_in_fault_seconds = _stale_seconds(client, world, marker, since=since)
        time.sleep(max(0.0, recovered + RECOVERY_SECONDS - time.monotonic()))
    finally:
        stop_writes.set()
        stop_reads.set()
        _join([*writers, *readers], REQUEST_TIMEOUT + 5)
    return Window(injecting, injected, recovered), [prober, *(writer.log for writer in writers)]


def _join(threads: Sequence[threading.Thread], seconds: float) -> None:
    """Wait up to ``seconds`` in all for the started threads to end."""
    deadline = time.monotonic() + seconds
    for thread in threads:
        if thread.ident is not None:
            thread.join(max(0.0, deadline - time.monotonic()))


def _retitle_probe(client: Client, world: World, prober: WriteLog, title: str) -> tuple[bool, float]:
    """Change the probe's title as the prober; return whether it was acknowledged, and when the answer came."""
    path = f"/api/articles/{world.probe}/"
    exchange, changed = client.send("PATCH", path, body={"title": title}, token=world.prober_token)
    prober.titled(world.probe, title, acknowledged=changed is not None)
    return changed is not None, exchange.ended


def _read_probe(client: Client, world: World) -> tuple[Any, Any]:
    """Return the probe's detail and its author's list, as their cached reads answer (None for a non-2xx)."""
    _, detail = client.send("GET", f"/api/articles/{world.probe}/")
    _, page = client.send("GET", f"/api/articles/?author={world.prober_author}")
    return detail, page


def _shows(client: Client, world: World, title: str) -> bool:
    """Return whether the probe's cached detail and its author's cached list both show the title."""
    detail, page = _read_probe(client, world)
    listed = page is not None and any(item["id"] == world.probe and item["title"] == title for item in page["results"])
    return detail is not None and detail["title"] == title and listed


def _stale_seconds(client: Client, world: World, title: str, *, since: float) -> float | None:
    """Return the seconds from ``since`` until the probe's detail and list show the title; None if they do not."""
    deadline = since + STALE_WATCH_SECONDS
    while time.monotonic() < deadline:
        if _shows(client, world, title):
            return max(0.0, time.monotonic() - since)
        time.sleep(STALE_POLL_SECONDS)
    return None


def wait_until_healthy(world: World) -> None:
    """Return once /health/ answers 200; raise if it does not within HEALTHY_SECONDS."""
    client = Client(world.base)
    deadline = time.monotonic() + HEALTHY_SECONDS
    while time.monotonic() < deadline:
        exchange, _ = client.send("GET", "/health/")
        if exchange.status == 200:
            return
        time.sleep(0.2)
    raise AssertionError(f"/health/ did not answer 200 within {HEALTHY_SECONDS:.0f} s")


def missing_writes(world: World, logs: Sequence[WriteLog]) -> list[str]:
    """Return the acknowledged writes the database does not hold, looked up through the ORM."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.chaos.ledger", "check"],
        cwd=PROJECT,
        env=world.env,
        input=json.dumps(expected_writes(logs)),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    missing: list[str] = json.loads(result.stdout)["missing"]
    return missing
