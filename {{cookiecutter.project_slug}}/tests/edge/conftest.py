"""Fixtures of the edge's tests: a stub backend each test steers, and varnishd with the shipped VCL in front of it.

Without varnishd the tests skip, unless ``REQUIRE_VARNISH=1`` makes that a failure (as in CI).
"""

import http.client
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from deploy.edge import INSTALL_HINT, find_varnishd, varnish
from tests.conftest import required_program
from tests.perf.servers import free_port
from tests.perf.slow_clients import HOST

# Fast enough that a test sees the backend turn sick (2 failed polls) in well under a second.
PROBE_INTERVAL = "0.1s"
# The purgers' ACL: loopback's 127.0.0.1 only, so a client bound to 127.0.0.2 is outside it.
PURGERS = ("127.0.0.1",)
OUTSIDER = "127.0.0.2"
# Public reads as the app marks them; a test's own lifetimes go in its Reply.
PUBLIC = "max-age=3600, stale-while-revalidate=30, stale-if-error=86400"


@dataclass
class Reply:
    """What the stub backend answers on one path."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Backend:
    """The stub backend's state: a reply per path, how often each path was fetched, and its health."""

    replies: dict[str, Reply] = field(default_factory=dict)
    fetches: Counter[str] = field(default_factory=Counter)
    healthy: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)

    def public(self, path: str, *, keys: str = "", surrogate_control: str = PUBLIC, delay: float = 0.0) -> None:
        """Answer path with a public read: Surrogate-Control and, when given, its surrogate keys."""
        headers = {"Surrogate-Control": surrogate_control, "Cache-Control": "max-age=0"}
        if keys:
            headers["xkey"] = keys
        self.replies[path] = Reply(headers=headers, delay=delay)

    def count(self, path: str) -> int:
        """Return how many times path was fetched."""
        with self.lock:
            return self.fetches[path]


@dataclass
class Response:
    """A response as a test reads it."""

    status: int
    headers: http.client.HTTPMessage
    body: str

    @property
    def cache(self) -> str | None:
        """Return the edge's X-Cache verdict."""
        return self.headers.get("X-Cache")


@dataclass
class Edge:
    """Varnish on port, in front of backend."""

    port: int
    backend: Backend

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, *, source: str | None = None
    ) -> Response:
        """Return the edge's answer to one request, sent from source (an address) when given."""
        connection = http.client.HTTPConnection(
            HOST, self.port, timeout=10, source_address=(source, 0) if source else None
        )
        try:
            connection.request(method, path, headers=headers or {})
            answer = connection.getresponse()
            return Response(answer.status, answer.headers, answer.read().decode())
        finally:
            connection.close()

    def get(self, path: str, headers: dict[str, str] | None = None) -> Response:
        """Return the edge's answer to a GET."""
        return self.request("GET", path, headers)

    def purge(self, keys: str | None, *, source: str | None = None) -> Response:
        """Return the edge's answer to a PURGE of keys (no xkey header when None)."""
        return self.request("PURGE", "/", {"xkey": keys} if keys is not None else {}, source=source)

    def wait_until_backend(self, *, healthy: bool) -> None:
        """Return once the probe has the backend healthy (or sick): a pass then reaches it (or gets Varnish's 503)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            status = self.request("POST", "/probe-state/").status
            if (status == 200) == healthy:
                return
            time.sleep(0.05)
        raise AssertionError(f"the probe did not see the backend {'healthy' if healthy else 'sick'} within 5 s")


class _Stub(BaseHTTPRequestHandler):
    """Answer as the server's Backend says; the body names the path and which fetch of it this is."""

    server: "_StubServer"

    def do_GET(self) -> None:
        """Answer a GET (Varnish fetches HEAD requests as GETs too)."""
        self._answer()

    def do_POST(self) -> None:
        """Answer a POST, as a write would be."""
        self._answer()

    def _answer(self) -> None:
        """Send the path's reply, or the health check's."""
        backend = self.server.backend
        if self.path == "/health/":
            self._send(200 if backend.healthy else 503, {}, b"health")
            return
        with backend.lock:
            backend.fetches[self.path] += 1
            fetch = backend.fetches[self.path]
        reply = backend.replies.get(self.path, Reply())
        # The fetch counted above is the backend's read; the delay is the slow part after it.
        time.sleep(reply.delay)
        self._send(reply.status, reply.headers, f"{self.path} fetch {fetch}".encode())

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        """Send a complete response."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing."""


class _StubServer(ThreadingHTTPServer):
    """The stub backend's server, holding its Backend."""

    daemon_threads = True

    def __init__(self, backend: Backend) -> None:
        super().__init__((HOST, 0), _Stub)
        self.backend = backend


@contextmanager
def stub_backend() -> Iterator[tuple[Backend, _StubServer]]:
    """Run a stub backend on a free loopback port until the block ends."""
    backend = Backend()
    server = _StubServer(backend)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield backend, server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def edge_in_front(backend: Backend, server: _StubServer, workdir: Path) -> Iterator[Edge]:
    """Run varnishd with the shipped VCL in front of the stub backend until the block ends."""
    port = free_port()
    with varnish(
        listen=f"{HOST}:{port}",
        backend_host=HOST,
        backend_port=server.server_address[1],
        workdir=workdir,
        purgers=PURGERS,
        probe_interval=PROBE_INTERVAL,
    ):
        yield Edge(port, backend)


@pytest.fixture(scope="session")
def varnishd_executable() -> str:
    """Return the varnishd to run; skip without one, or fail when REQUIRE_VARNISH=1."""
    return required_program(find_varnishd(), f"varnishd not found: {INSTALL_HINT}", "REQUIRE_VARNISH")


@pytest.fixture(scope="package")
def shared_edge(varnishd_executable: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    """Return Varnish in front of a stub backend, shared by the tests (each uses paths of its own)."""
    with stub_backend() as (backend, server), edge_in_front(backend, server, tmp_path_factory.mktemp("edge")) as edge:
        yield edge


@pytest.fixture
def edge(shared_edge: Edge) -> Iterator[Edge]:
    """Return the shared edge, its backend healthy again after the test."""
    yield shared_edge
    if not shared_edge.backend.healthy:
        shared_edge.backend.healthy = True
        shared_edge.wait_until_backend(healthy=True)


@pytest.fixture
def path(request: pytest.FixtureRequest) -> str:
    """Return a path of the test's own, so no other test's objects are in the way."""
    return f"/{request.node.name}/"
