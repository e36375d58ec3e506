"""A slow upstream for ``GET /api/overview/``: a local HTTP server that answers after a delay and notes each request.

Its paths choose the answer, ``?delay=SECONDS`` (default: the server's) when it comes:

- ``/ok``: a small JSON object;
- ``/status``: a 503;
- ``/not-json``: plain text;
- ``/large?bytes=N``: a JSON object of N bytes;
- ``/trickle?bytes=N``: a JSON object of N bytes, one byte every ``delay`` seconds.
"""

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

OK_BODY = b'{"status": "ok", "region": "local"}'


@dataclass
class Upstream:
    """A running slow upstream: its base URL, and an event set when a request arrives (before the delay)."""

    base: str
    delay: float
    received: threading.Event = field(default_factory=threading.Event)
    requests: int = 0

    def url(self, path: str = "/ok") -> str:
        """Return the URL of path on this upstream."""
        return f"{self.base}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def do_GET(self) -> None:
        """Note the request, wait, then answer as the path says."""
        upstream = self.server.upstream
        upstream.requests += 1
        upstream.received.set()
        parts = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        delay = float(query.get("delay", upstream.delay))
        size = int(query.get("bytes", "0"))
        if parts.path == "/trickle":
            self._answer(200, _json_of_size(size), "application/json", pause=delay)
            return
        time.sleep(delay)
        if parts.path == "/status":
            self._answer(503, b'{"detail": "down"}', "application/json")
        elif parts.path == "/not-json":
            self._answer(200, b"hello", "text/plain")
        elif parts.path == "/large":
            self._answer(200, _json_of_size(size), "application/json")
        else:
            self._answer(200, OK_BODY, "application/json")

    def _answer(self, status: int, body: bytes, content_type: str, pause: float = 0.0) -> None:
        """Send body, a byte at a time with pause between them when pause is given."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not pause:
            self.wfile.write(body)
            return
        for byte in body:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(pause)

    def log_message(self, format: str, *args: object) -> None:
        """Log nothing: a benchmark sends thousands of requests."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    upstream: Upstream

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore a client gone before its answer (a load generator stopping); print anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _json_of_size(size: int) -> bytes:
    """Return a JSON object of exactly size bytes (at least 10)."""
    return b'{"pad": "' + b"x" * max(size - 11, 0) + b'"}'


@contextmanager
def slow_upstream(delay: float = 0.0) -> Iterator[Upstream]:
    """Serve a slow upstream on a free loopback port; yield it, stop it afterwards."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.upstream = Upstream(f"http://127.0.0.1:{server.server_address[1]}", delay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.upstream
    finally:
        server.shutdown()
        server.server_close()
