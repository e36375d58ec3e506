"""A stand-in for the edge in unit tests: an HTTP server on loopback that records the purges it receives."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Purge:
    """One purge as the edge received it: its keys header, and what ``observe`` returned at that moment."""

    keys: str | None
    observed: Any


@dataclass
class FakeEdge:
    """The purges received, and the status the next ones get (200 purged, 403 refused, 400 named no key)."""

    url: str
    status: int = 200
    observe: Callable[[], Any] = lambda: None
    purges: list[Purge] = field(default_factory=list)


@contextmanager
def fake_edge(header: str = "xkey") -> Iterator[FakeEdge]:
    """Serve a fake edge on a free loopback port until the block ends."""
    edge = FakeEdge(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_PURGE(self) -> None:
            keys = self.headers.get(header)
            edge.purges.append(Purge(keys, edge.observe()))
            # As deploy/varnish/default.vcl: outside the ACL a 403 whatever is asked; a purge of no key, a 400.
            status = 400 if keys is None and edge.status != 403 else edge.status
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Log nothing."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    edge.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield edge
    finally:
        server.shutdown()
        server.server_close()
