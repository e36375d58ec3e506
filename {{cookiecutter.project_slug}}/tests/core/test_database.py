"""A database that cannot be reached is a JSON 503 with Retry-After, fast, and cache hits are still served.

The circuit breaker is tested on a PostgreSQL server of the test's own, stopped and started again mid-test (never
the one the suite runs on).
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from django.contrib.auth.models import Group
from django.db import OperationalError, connection
from django.db.backends.postgresql import base as postgresql
from django.db.utils import ConnectionHandler
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import URLPattern, path
from pytest_django import DjangoDbBlocker
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.plumbing.db.base import DatabaseWrapper
from core.plumbing.db.breaker import CircuitBreaker, DatabaseUnavailableError, reset_breakers
from core.plumbing.exceptions import server_error
from settings.base import database_settings
from tests.core.test_throttling import unused_port
from tests.core.urls import GroupDetailView


class DatabaseDownView(APIView):
    """An API view whose query fails as it does when PostgreSQL is down."""

    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        """Fail to connect."""
        raise OperationalError("connection refused")


def database_down(request: HttpRequest) -> HttpResponse:
    """A plain Django view whose connection is refused by an open breaker."""
    raise DatabaseUnavailableError("default", 1.5)


urlpatterns: list[URLPattern] = [
    path("api/down/", DatabaseDownView.as_view()),
    path("down/", database_down),
    path("groups/<int:pk>/", GroupDetailView.as_view()),
]


@pytest.fixture(autouse=True)
def _closed_breakers() -> Iterator[None]:
    """Start and end every test with every breaker closed."""
    reset_breakers()
    yield
    reset_breakers()


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("url", ["/api/down/", "/down/"])
def test_unreachable_database_returns_json_503_with_retry_after(client: Client, url: str) -> None:
    response = client.get(url)

    assert response.status_code == 503
    assert response.json() == {"detail": "The database is unavailable; retry shortly.", "code": "database_unavailable"}
    assert int(response["Retry-After"]) >= 1
    assert "no-store" in response["Cache-Control"]


def test_unreachable_database_in_a_middleware_returns_json_503() -> None:
    try:
        raise DatabaseUnavailableError("default", 1.0)
    except OperationalError:
        response = server_error(HttpRequest())

    assert response.status_code == 503
    assert response["Retry-After"]


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_cache_hit_is_served_while_the_database_is_down(
    client: Client, django_assert_num_queries: Callable[..., Any]
) -> None:
    group = Group.objects.create(name="editors")
    assert client.get(f"/groups/{group.pk}/").status_code == 200  # now cached

    def refuse(*args: Any) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    with connection.execute_wrapper(refuse):
        with django_assert_num_queries(0):
            hit = client.get(f"/groups/{group.pk}/")
        miss = client.get(f"/groups/{group.pk + 1}/")

    assert hit.status_code == 200
    assert hit.json() == {"id": group.pk, "name": "editors"}
    assert miss.status_code == 503


POSTGRESQL_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)


class Server:
    """A throwaway PostgreSQL server, run as the postgres user from a directory of its own."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port

    def run(self, program: str, *args: str) -> None:
        """Run a PostgreSQL program as the postgres user."""
        assert POSTGRESQL_BIN is not None
        command = ["runuser", "-u", "postgres", "--", str(POSTGRESQL_BIN / program), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self.run("pg_ctl", "-D", str(self.directory / "data"), "-o", options, "-w", "-l", "/dev/null", "start")

    def stop(self) -> None:
        """Stop the server at once, as a crash would."""
        self.run("pg_ctl", "-D", str(self.directory / "data"), "-m", "immediate", "-w", "stop")


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """Return a PostgreSQL server of this module's own on a free port; skip where it cannot be started."""
    if POSTGRESQL_BIN is None or os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("needs PostgreSQL's server programs and root, to run them as the postgres user")
    # Not under pytest's tmp_path: the postgres user must be able to reach it.
    directory = Path(tempfile.mkdtemp(prefix="breaker-"))
    shutil.chown(directory, "postgres")
    started = Server(directory, unused_port())
    started.run("initdb", "-D", str(directory / "data"), "-A", "trust", "-U", "postgres")
    started.start()
    yield started
    with contextlib.suppress(subprocess.CalledProcessError):
        started.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def outage_database(
    server: Server, django_db_blocker: DjangoDbBlocker, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DatabaseWrapper]:
    """Return a connection to the module's server, configured as the project's settings configure PostgreSQL."""
    monkeypatch.setenv("DATABASE_URL", f"postgres://postgres@127.0.0.1:{server.port}/postgres")
    # Under an alias of its own: pools and breakers are per alias, and "default" is the suite's database.
    handler = ConnectionHandler({"default": {"ENGINE": "django.db.backends.dummy"}, "outage": database_settings()})
    wrapper = cast(DatabaseWrapper, handler["outage"])
    with django_db_blocker.unblock():
        yield wrapper
        wrapper.close()
        wrapper.close_pool()


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Return the list that gets an entry for each connection tried: through the pool, or by a probe."""
    made: list[float] = []
    connect = postgresql.DatabaseWrapper.get_new_connection

    def counted(self: postgresql.DatabaseWrapper, conn_params: dict[str, Any]) -> Any:
        made.append(time.monotonic())
        return connect(self, conn_params)

    def probed(self: DatabaseWrapper, conn_params: dict[str, Any]) -> None:
        made.append(time.monotonic())
        probe(self, conn_params)

    probe = DatabaseWrapper.probe
    monkeypatch.setattr(postgresql.DatabaseWrapper, "get_new_connection", counted)
    monkeypatch.setattr(DatabaseWrapper, "probe", probed)
    return made


def breaker_of(wrapper: DatabaseWrapper) -> CircuitBreaker:
    """Return the wrapper's breaker."""
    breaker = wrapper.breaker
    assert breaker is not None
    return breaker


def query(wrapper: DatabaseWrapper) -> Any:
    """Return the answer to a trivial query on a fresh connection from the wrapper."""
    wrapper.close()
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()


def test_breaker_refuses_connections_without_trying_while_open(
    server: Server, outage_database: DatabaseWrapper, attempts: list[float]
) -> None:
    assert query(outage_database) == (1,)
    server.stop()
    try:
        with pytest.raises(OperationalError):
            query(outage_database)
        tried = len(attempts)

        for _ in range(5):
            with pytest.raises(DatabaseUnavailableError):
                query(outage_database)

        assert len(attempts) == tried
        assert breaker_of(outage_database).is_open
    finally:
        server.start()


def test_breaker_lets_one_probe_through_after_its_window_and_closes_on_success(
    server: Server, outage_database: DatabaseWrapper, attempts: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr("core.plumbing.db.breaker.time.monotonic", lambda: clock[0])
    assert query(outage_database) == (1,)
    server.stop()
    try:
        with pytest.raises(OperationalError):
            query(outage_database)
        clock[0] += breaker_of(outage_database).window
        tried = len(attempts)

        with pytest.raises(OperationalError):
            query(outage_database)  # the probe: tried, and failed again
        with pytest.raises(DatabaseUnavailableError):
            query(outage_database)  # open again for a window

        assert len(attempts) == tried + 1
    finally:
        server.start()
    clock[0] += breaker_of(outage_database).window

    assert query(outage_database) == (1,)
    assert not breaker_of(outage_database).is_open
