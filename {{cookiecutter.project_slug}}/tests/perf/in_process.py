"""What Server-Timing, the request log and Silk cost per request, measured in process: WSGI handlers called directly.

No server, sockets or load generator: one process builds a WSGI handler per configuration (Server-Timing off, on; the
request log on, writing its lines to stderr; with Silk's middleware when the project has it), then calls them in turn,
a batch of requests for the same URL each, for many rounds (Silk recording every request last), and prints each
batch's wall-clock and CPU nanoseconds per request as JSON, with Silk's per-minute cap. Side by side in one process,
the handlers share the machine's state at every moment, so the median of their per-round differences is the
middleware's own cost, not noise. Server-Timing does no I/O: its cost is CPU time. A Silk recording waits on the
database as well: its cost is wall-clock time, during which a sync worker serves nothing else.

Server-Timing wraps the cache backends' methods for the whole process once a handler with it is built, so the "off"
handler calls them through the wrappers too: the difference leaves out one context-variable read per cache call.

``python -m tests.perf.in_process --path ... --requests N --rounds R``, with the production settings' environment;
``make bench-profiling`` runs it.
"""

import argparse
import io
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tests.perf.load import rounds_in_turn

# Requests each handler serves before any clock starts: connections opened, caches filled, code paths warmed.
WARM_UP = 200
# A recording writes to the database and costs milliseconds: its batches are this many times smaller.
RECORDING_BATCH_DIVISOR = 20
BASELINE = "Server-Timing off"
REQUEST_LOG = "Request log on"
SILK_NOT_RECORDING = "Silk, not recording"
SILK_RECORDING = "Silk, recording every request"

WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class Configuration:
    """A handler, the settings it is called under, and whether it records (then it serves smaller batches)."""

    handler: WSGIApplication
    settings: Mapping[str, Any] = field(default_factory=dict)
    records: bool = False

    @property
    def divisor(self) -> int:
        """Return by how much this configuration's batches are smaller than the others'."""
        return RECORDING_BATCH_DIVISOR if self.records else 1


def environ_for(path: str) -> dict[str, Any]:
    """Return the WSGI environ of a plain GET of path (with its query string) on loopback, as wrk sends it."""
    parts = urlsplit(path)
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


@dataclass(frozen=True)
class Batch:
    """What one batch of requests took, per request: wall-clock and this thread's CPU time, in nanoseconds."""

    wall_ns: float
    cpu_ns: float


def time_requests(application: WSGIApplication, path: str, requests: int) -> Batch:
    """Return the time per request of calling application for path requests times; raise unless 200."""
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., None]:
        statuses.append(status)
        return lambda data: None

    wall, cpu = time.perf_counter_ns(), time.thread_time_ns()
    for _ in range(requests):
        response = application(environ_for(path), start_response)
        for _chunk in response:
            pass
        getattr(response, "close", lambda: None)()
    batch = Batch((time.perf_counter_ns() - wall) / requests, (time.thread_time_ns() - cpu) / requests)
    if not statuses[-1].startswith("200"):
        raise RuntimeError(f"GET {path} answered {statuses[-1]}")
    return batch


def configurations() -> dict[str, Configuration]:
    """Return the handlers to compare: Server-Timing off and on, the request log on, and Silk if installed."""
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    with_silk = list(settings.MIDDLEWARE)
    without_silk = [name for name in with_silk if "silk" not in name.lower()]
    found = {
        BASELINE: Configuration(_handler(WSGIHandler, SERVER_TIMING="off", MIDDLEWARE=without_silk)),
        "Server-Timing on": Configuration(_handler(WSGIHandler, SERVER_TIMING="on", MIDDLEWARE=without_silk)),
        REQUEST_LOG: Configuration(
            _handler(WSGIHandler, SERVER_TIMING="off", MIDDLEWARE=without_silk, REQUEST_LOG=True)
        ),
    }
    if with_silk != without_silk:
        silk = _handler(WSGIHandler, SERVER_TIMING="off", MIDDLEWARE=with_silk)
        found[SILK_NOT_RECORDING] = Configuration(silk, {"SILK_SAMPLE_RATE": 0.0})
        found[SILK_RECORDING] = Configuration(
            silk, {"SILK_SAMPLE_RATE": 1.0, "SILK_MAX_PER_MINUTE": None}, records=True
        )
    return found


def _handler(handler_class: Callable[[], WSGIApplication], **overrides: Any) -> WSGIApplication:
    """Return a WSGI handler whose middleware was loaded under the given settings."""
    with _settings(overrides):
        return handler_class()


@contextmanager
def _settings(overrides: Mapping[str, Any]) -> Iterator[None]:
    """Run the block with the given settings overridden."""
    from django.test import override_settings

    with override_settings(**overrides):
        yield


def measure(path: str, *, requests: int, rounds: int) -> dict[str, list[Batch]]:
    """Return the time per request of each configuration, one batch a round.

    The configurations that do not write take turns, so each round compares them under the same conditions. The ones
    that record (to the database) run afterwards: between the others, they would slow whichever batch came next.
    """
    found = configurations()
    for configuration in found.values():
        with _settings(configuration.settings):
            time_requests(configuration.handler, path, WARM_UP // configuration.divisor)
    results: dict[str, list[Batch]] = {name: [] for name in found}
    in_turn = [name for name, configuration in found.items() if not configuration.records]
    schedule = [in_turn[index] for _round, index in rounds_in_turn(len(in_turn), rounds)]
    schedule += [name for name, configuration in found.items() if configuration.records for _ in range(rounds)]
    for name in schedule:
        configuration = found[name]
        with _settings(configuration.settings):
            batch = max(1, requests // configuration.divisor)
            results[name].append(time_requests(configuration.handler, path, batch))
    return results


def main() -> None:
    """Measure every configuration in this process; print the ns per request and Silk's per-minute cap as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", required=True, help="the endpoint to call, with its query string")
    parser.add_argument("--requests", type=int, default=200, help="requests per batch (a recording batch: 1/20)")
    parser.add_argument("--rounds", type=int, default=40)
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.production")
    import django

    django.setup()
    from django.conf import settings

    results = measure(options.path, requests=options.requests, rounds=options.rounds)
    cap = getattr(settings, "SILK_MAX_PER_MINUTE", None)
    batches = {name: [asdict(batch) for batch in figures] for name, figures in results.items()}
    print(json.dumps({"batches": batches, "silk_max_per_minute": cap}))


if __name__ == "__main__":
    main()
