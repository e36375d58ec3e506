"""``make serve-asgi``'s server, granian's ASGI interface (deploy/granian_server.py): the overview and /health/."""

import json
import urllib.request
from collections.abc import Iterator

import pytest

from tests.perf.servers import free_port, granian_asgi, manage, production_env
from tests.perf.slow_upstream import Upstream, slow_upstream


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    """Return a local upstream answering after 50 ms."""
    with slow_upstream(delay=0.05) as server:
        yield server


def fetch(url: str) -> tuple[int, bytes]:
    """Return the status and body of a GET of url."""
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a loopback URL of our own
        return response.status, response.read()


def test_granian_asgi_serves_the_overview_and_health(
    tmp_path_factory: pytest.TempPathFactory, upstream: Upstream
) -> None:
    database = tmp_path_factory.mktemp("asgi-database") / "db.sqlite3"
    environment = production_env(DATABASE_URL=f"sqlite:///{database}", DJANGO_API_UPSTREAM_URL=upstream.url())
    manage("migrate", "--noinput", "--verbosity", "0", env=environment)

    log = database.parent / "granian.log"
    with granian_asgi(free_port(), workers=1, env=environment, log=log) as base:
        health_status, _ = fetch(f"{base}/health/")
        overview_status, body = fetch(f"{base}/api/overview/")

    # Django answers no ASGI lifespan events: the launcher's asginl interface sends none, so nothing fails on them.
    assert "Lifespan" not in log.read_text()
    assert health_status == 200
    assert overview_status == 200
    assert json.loads(body)["upstream"]["available"] is True
    assert upstream.requests == 1
