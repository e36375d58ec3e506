"""The project behind Varnish with deploy/varnish/default.vcl: after a committed write, no read through it is stale.

One gunicorn with 4 workers serves the project on a database of its own, with the edge configured
(``DJANGO_EDGE_PURGE_URLS``), and varnishd with the shipped VCL stands in front of it. Every request goes through the
edge, writes included, as in production.
"""

import http.client
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from deploy.edge import INSTALL_HINT, find_varnishd, varnish
from tests.conftest import required_program
from tests.perf.edge_writes import request_json
from tests.perf.servers import PROJECT, free_port, gunicorn, manage
from tests.perf.slow_clients import HOST

pytestmark = pytest.mark.edge

WORKERS = 4
TRIALS = 1000
READERS = 4
# The writer and their article, in the site's own database: the benchmark's writer (tests/perf/edge_writes.py).
SETUP = "from tests.perf.edge_writes import writer; print(*writer())"


@dataclass
class Site:
    """The edge's port (where varnishd listens when it runs), the application's, its log, a writer and an article."""

    port: int
    backend_port: int
    log: Path
    token: str
    article: int
    workdir: Path

    def request(self, method: str, path: str, body: Any = None, *, token: bool = False) -> tuple[int, dict[str, Any]]:
        """Return the status and JSON body of a request through the edge, with the writer's token if asked."""
        headers = {"Authorization": f"Token {self.token}"} if token else {}
        return request_json(f"http://{HOST}:{self.port}", method, path, body, headers)


@contextmanager
def served(folder: Path, *, workers: int) -> Iterator[Site]:
    """Serve the project with gunicorn on a new database, its edge configured on a port no one listens on yet."""
    required_program(find_varnishd(), f"varnishd not found: {INSTALL_HINT}", "REQUIRE_VARNISH")
    edge_port, backend_port = free_port(), free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "GUNICORN_"))}
    environment |= {
        "DJANGO_SETTINGS_MODULE": "settings.test",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "DJANGO_EDGE_PURGE_URLS": f"http://{HOST}:{edge_port}",
        # One client, the edge, makes every request here: no budget or rate may refuse the trials.
        "DJANGO_API_CACHE_MISS_RATE": "",
        "DJANGO_THROTTLE_ANON": "1000000/minute",
        "DJANGO_THROTTLE_USER": "1000000/minute",
    }
    manage("migrate", "--noinput", "--verbosity", "0", env=environment)
    made = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SETUP],
        cwd=PROJECT,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )
    token, article = made.stdout.split()[-2:]
    log = folder / "gunicorn.log"
    with gunicorn(backend_port, workers=workers, env=environment, log=log):
        yield Site(edge_port, backend_port, log, token, int(article), folder / "varnish")


@contextmanager
def edge_in_front(site: Site) -> Iterator[None]:
    """Run varnishd with the shipped VCL on the site's edge port until the block ends."""
    with varnish(
        listen=f"{HOST}:{site.port}", backend_host=HOST, backend_port=site.backend_port, workdir=site.workdir
    ):
        yield


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Serve the project with 4 workers behind varnishd; yield the site."""
    with served(tmp_path_factory.mktemp("edge-site"), workers=WORKERS) as running, edge_in_front(running):
        yield running


def _hammer(site: Site, paths: list[str], stop: threading.Event) -> None:
    """Read the paths through the edge until stop is set, so reads are in flight whenever a write commits."""
    while not stop.is_set():
        for path in paths:
            site.request("GET", path)


def test_after_each_of_1000_writes_the_next_read_through_the_edge_shows_it(site: Site) -> None:
    detail = f"/api/articles/{site.article}/"
    stop = threading.Event()
    readers = [
        threading.Thread(target=_hammer, args=(site, [detail, "/api/articles/"], stop), daemon=True)
        for _ in range(READERS)
    ]
    for reader in readers:
        reader.start()
    stale: list[str] = []
    try:
        for trial in range(TRIALS):
            title = f"Edge trial {trial}"
            status, _ = site.request("PATCH", detail, {"title": title}, token=True)
            assert status == 200
            _, shown = site.request("GET", detail)
            _, page = site.request("GET", "/api/articles/")
            listed = next((row["title"] for row in page["results"] if row["id"] == site.article), None)
            if shown.get("title") != title or listed != title:
                stale.append(f"trial {trial}: detail {shown.get('title')!r}, list {listed!r}")
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=30)

    assert stale == []


def test_the_edge_serves_a_public_read_from_its_cache_until_a_write(site: Site) -> None:
    connection = http.client.HTTPConnection(HOST, site.port, timeout=10)
    verdicts = []
    for _ in range(2):
        connection.request("GET", "/api/tags/")
        response = connection.getresponse()
        response.read()
        verdicts.append(response.headers["X-Cache"])
        assert "xkey" not in response.headers
        assert "Surrogate-Control" not in response.headers
    connection.close()

    assert verdicts == ["MISS", "HIT"]


def test_the_schema_and_the_docs_work_through_the_edge(site: Site) -> None:
    connection = http.client.HTTPConnection(HOST, site.port, timeout=10)
    for path, expected in (("/api/schema/", b"openapi"), ("/api/docs/", b"swagger")):
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, path
        assert expected in body.lower(), path
    connection.close()


def test_with_the_edge_stopped_writes_succeed_and_log_the_failed_purge_then_reads_are_right_again(
    tmp_path: Path,
) -> None:
    with served(tmp_path, workers=1) as site:
        detail = f"/api/articles/{site.article}/"
        with edge_in_front(site):
            site.request("GET", detail)
            assert site.request("GET", detail)[1]["title"] != "Written while the edge was down"

        # The edge is down: a client reaches the application directly, and the write must not fail.
        backend = Site(site.backend_port, site.backend_port, site.log, site.token, site.article, site.workdir)
        status, _ = backend.request("PATCH", detail, {"title": "Written while the edge was down"}, token=True)

        assert status == 200
        assert "Edge purge failed" in site.log.read_text()
        with edge_in_front(site):
            assert site.request("GET", detail)[1]["title"] == "Written while the edge was down"
