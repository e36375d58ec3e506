"""Slow clients against gunicorn alone and behind the front (deploy/nginx.conf), and what normal requests get.

``make bench-front`` runs it: gunicorn (gunicorn.conf.py, production settings, 2 sync workers, the configured
database and cache) on one port, nginx in front of it on another. Against each it sends normal requests one after
the other for a while, first alone, then while 100 connections each send one header byte a second (reopened when
the server closes them). It prints how many were answered and their p50 and p99, and writes every run to
var/bench/front.json. It reports; it asserts nothing. The slow clients and normal requests live here for the
tests of tests/front/ too.
"""

import argparse
import http.client
import json
import select
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from deploy.front import nginx
from tests.perf.servers import PROJECT, free_port, gunicorn, prepare, production_env

RESULTS = PROJECT / "var" / "bench" / "front.json"
HAS_EXAMPLE_API = (PROJECT / "api" / "views.py").exists()
# What the normal requests ask for: the health check and, with the example API, a public read (never throttled;
# without it, every API view is, and one address asking in a loop would soon get 429s).
NORMAL_PATHS = ("/health/", "/api/articles/") if HAS_EXAMPLE_API else ("/health/",)
HOST = "127.0.0.1"
# A header that never ends: the request line, the Host, then one header value growing a byte at a time.
SLOW_HEADER = b"GET /health/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
# A form POST to a view that reads its body (the admin login, through Django's CSRF check: the cookie makes the
# check read the form for its token), announced at 100,000 bytes and then sent a byte at a time.
SLOW_BODY_HEAD = (
    b"POST /admin/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n"
    b"Cookie: csrftoken=" + b"x" * 32 + b"\r\n\r\n"
)


class SlowClients:
    """Connections that each send one more byte every interval, each reopened when the server closes it."""

    def __init__(self, port: int, *, count: int, head: bytes, drip: bytes, interval: float) -> None:
        """Prepare count connections to HOST:port that send head at once, then drip, then b"a", a byte each time."""
        self.port, self.count, self.head, self.drip, self.interval = port, count, head, drip, interval
        self.reopened = 0
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "SlowClients":
        """Open the connections and start sending; return once every one is open."""
        self._thread.start()
        if not self.connected.wait(timeout=30):
            raise RuntimeError(f"could not open {self.count} connections to port {self.port}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close every connection."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        """Send the next byte on every connection each interval until stopped, reopening the ones closed."""
        sockets = [self._open() for _ in range(self.count)]
        sent = [0] * self.count
        self.connected.set()
        try:
            while not self._stop.wait(self.interval):
                for index, connection in enumerate(sockets):
                    if self._drip(connection, sent[index]):
                        sent[index] += 1
                        continue
                    connection.close()
                    self.reopened += 1
                    sockets[index], sent[index] = self._open(), 0
        finally:
            for connection in sockets:
                connection.close()

    def _open(self) -> socket.socket:
        """Return a new connection that has sent the head."""
        connection = socket.create_connection((HOST, self.port), timeout=5)
        connection.sendall(self.head)
        return connection

    def _drip(self, connection: socket.socket, position: int) -> bool:
        """Send the byte at position; return False when the server has answered or closed the connection."""
        readable, _, _ = select.select([connection], [], [], 0)
        if readable:
            return False
        byte = self.drip[position : position + 1] or b"a"
        try:
            connection.sendall(byte)
        except OSError:
            return False
        return True


def slow_headers(port: int, count: int, *, interval: float = 1.0) -> SlowClients:
    """Return count connections to HOST:port each sending its request header one byte every interval."""
    return SlowClients(port, count=count, head=b"", drip=SLOW_HEADER, interval=interval)


def slow_bodies(port: int, count: int, *, interval: float = 1.0) -> SlowClients:
    """Return count connections to HOST:port each sending a whole header, then its body one byte every interval."""
    return SlowClients(port, count=count, head=SLOW_BODY_HEAD, drip=b"", interval=interval)


@dataclass
class Outcome:
    """What the normal requests of one run got: the answered ones' latencies, and every other outcome."""

    latencies_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def answered(self) -> int:
        """Return how many requests were answered 200."""
        return len(self.latencies_ms)

    def percentile(self, cut: int) -> float | None:
        """Return the answered requests' latency at percentile cut, or None with fewer than two."""
        if len(self.latencies_ms) < 2:
            return None
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[cut - 1]


def get(port: int, path: str, *, timeout: float) -> int:
    """Return the status of GET path on a new connection to HOST:port; raise OSError (TimeoutError) on no answer."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def normal_requests(port: int, *, duration: float, timeout: float) -> Outcome:
    """Return what GETs of NORMAL_PATHS in turn, one at a time, each on a new connection, got for duration s."""
    outcome = Outcome()
    deadline = time.monotonic() + duration
    number = 0
    while time.monotonic() < deadline:
        path = NORMAL_PATHS[number % len(NORMAL_PATHS)]
        number += 1
        started = time.perf_counter()
        try:
            status = get(port, path, timeout=timeout)
        except OSError as error:
            outcome.failures.append(f"{path}: {type(error).__name__}")
            continue
        if status == 200:
            outcome.latencies_ms.append((time.perf_counter() - started) * 1000)
        else:
            outcome.failures.append(f"{path}: {status}")
    return outcome


@contextmanager
def front(upstream_port: int, prefix: Path) -> Iterator[int]:
    """Run nginx with deploy/nginx.conf in front of HOST:upstream_port; yield its port."""
    port = free_port()
    with nginx(listen=f"{HOST}:{port}", upstream=f"{HOST}:{upstream_port}", prefix=prefix):
        yield port


def main() -> None:
    """Measure normal requests with and without slow clients, against gunicorn alone and behind nginx."""
    options = _parse_arguments()
    environment = production_env()
    prepare(environment)
    runs: list[dict[str, object]] = []
    with ExitStack() as servers:
        gunicorn_port = free_port()
        servers.enter_context(gunicorn(gunicorn_port, workers=options.workers, env=environment))
        nginx_port = servers.enter_context(front(gunicorn_port, PROJECT / "var" / "front" / "bench"))
        for target, port in (("gunicorn alone", gunicorn_port), ("nginx in front", nginx_port)):
            for slow in (0, options.slow):
                runs.append({"target": target, "slow": slow, **_measure(port, slow, options)})
                print(_row(runs[-1]))
    print(f"\n{_describe(options)}\n\n{_table(runs)}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"options": vars(options), "runs": runs}, indent=1))
    print(f"\nWritten to {RESULTS.relative_to(PROJECT)}")


def _parse_arguments() -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", type=int, default=100, help="slow connections during the attack")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between two bytes of a slow client")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of normal requests per run")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds a normal request waits for its answer")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    return parser.parse_args()


def _measure(port: int, slow: int, options: argparse.Namespace) -> dict[str, object]:
    """Return what normal requests to port got while slow connections (maybe none) hung on."""
    with ExitStack() as attack:
        clients = attack.enter_context(slow_headers(port, slow, interval=options.interval)) if slow else None
        # Let every slow connection send a few bytes first, so each is well into its header.
        time.sleep(3 * options.interval if slow else 0)
        outcome = normal_requests(port, duration=options.duration, timeout=options.timeout)
    return {
        "sent": outcome.answered + len(outcome.failures),
        "answered": outcome.answered,
        "p50_ms": outcome.percentile(50),
        "p99_ms": outcome.percentile(99),
        "slow_reopened": clients.reopened if clients else 0,
        "failures": sorted(set(outcome.failures)),
    }


def _row(run: dict[str, object]) -> str:
    """Return one run as a line of the Markdown table."""

    def ms(value: object) -> str:
        return f"{value:,.2f} ms" if isinstance(value, float) else "-"

    return (
        f"| {run['target']} | {run['slow']} | {run['answered']:,} of {run['sent']:,} | {ms(run['p50_ms'])} | "
        f"{ms(run['p99_ms'])} | {run['slow_reopened']} |"
    )


def _table(runs: list[dict[str, object]]) -> str:
    """Return the runs as a Markdown table."""
    header = "| target | slow connections | answered 200 | p50 | p99 | slow connections closed by the server |"
    return "\n".join([header, "|---|--:|--:|--:|--:|--:|", *map(_row, runs)])


def _describe(options: argparse.Namespace) -> str:
    """Return one line saying what was measured."""
    return (
        f"Normal requests (GET {', '.join(NORMAL_PATHS)}, one at a time, {options.timeout:g} s timeout) for "
        f"{options.duration:g} s a run; {options.workers} gunicorn sync workers; slow clients send a header byte "
        f"every {options.interval:g} s:"
    )


if __name__ == "__main__":
    main()
