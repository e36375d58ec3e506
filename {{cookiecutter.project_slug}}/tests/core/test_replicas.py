"""Read replicas in one process: the router, the choice of a replica, versions carrying the WAL position, the pin.

A replica here is a fake connection; tests/replicas/ serves the project on a real primary and streaming replica.
"""

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import DatabaseError, OperationalError, connections
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from pytest_django import DjangoAssertNumQueries
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from core.models import PendingInvalidation
from core.plumbing.db import replicas
from core.plumbing.db.read_your_writes import COOKIE, PINNED, ReadYourWritesMiddleware, is_pinned, pinned_until
from core.plumbing.db.replicas import ReplicaRouter, read_replica_first, replica_for, replica_states
from core.toolkit import caching, views
from core.toolkit.caching import RANDOM_BITS, UNKNOWN_LSN, bump_keys, read_entry, written_lsn
from tests.core.test_settings import manage

pytestmark = pytest.mark.urls("tests.core.urls")

REPLICA = "replica_1"
WINDOW = 5.0


class FakeReplica:
    """A replica connection that answers the replay-position query with ``replayed``, or fails with ``error``."""

    def __init__(self, replayed: int) -> None:
        self.replayed = replayed
        self.error: DatabaseError | None = None
        self.asked = 0
        self.closed = 0

    @contextmanager
    def cursor(self) -> Iterator["FakeReplica"]:
        """Return itself as its cursor."""
        yield self

    def execute(self, sql: str) -> None:
        """Count a query; fail as told."""
        self.asked += 1
        if self.error is not None:
            raise self.error

    def fetchone(self) -> tuple[int]:
        """Return the replayed position."""
        return (self.replayed,)

    def close(self) -> None:
        """Count a close."""
        self.closed += 1


class FakeConnections:
    """Django's connections, with the fake replica as ``replica_1``."""

    def __init__(self, replica: FakeReplica) -> None:
        self.replica = replica

    def __getitem__(self, alias: str) -> Any:
        return self.replica if alias == REPLICA else connections[alias]


@pytest.fixture
def replica(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[FakeReplica]:
    """Return a fake replica, the only one configured, at position 100; the process forgets it afterwards."""
    fake = FakeReplica(replayed=100)
    monkeypatch.setattr(replicas, "replica_aliases", lambda: [REPLICA])
    monkeypatch.setattr(replicas, "connections", FakeConnections(fake))
    settings.DB_REPLICA_RETRY_SECONDS = 60
    replicas.forget_replicas()
    yield fake
    replicas.forget_replicas()


def test_router_sends_reads_outside_a_rebuild_and_every_write_to_the_primary() -> None:
    router = ReplicaRouter()

    assert router.db_for_read(Group) is None
    assert router.db_for_write(Group) == "default"
    assert router.allow_migrate("default", "auth") is True
    assert router.allow_migrate(REPLICA, "auth") is False
    assert router.allow_relation(Group(), Group()) is True


def test_router_sends_the_reads_of_a_rebuild_to_its_replica(replica: FakeReplica) -> None:
    router = ReplicaRouter()

    chosen = read_replica_first(lambda: router.db_for_read(Group), replayed=100)

    assert chosen == REPLICA
    assert router.db_for_read(Group) is None  # after the rebuild


@pytest.mark.django_db
def test_router_keeps_a_rebuild_inside_a_transaction_on_the_primary(replica: FakeReplica) -> None:
    # The test runs inside a transaction, as a rebuild reading after its own write would.
    assert connections["default"].in_atomic_block

    assert read_replica_first(lambda: ReplicaRouter().db_for_read(Group), replayed=0) is None


def test_a_replica_is_asked_its_position_only_when_a_newer_write_is_involved(replica: FakeReplica) -> None:
    assert replica_for(50) == REPLICA
    assert replica_for(100) == REPLICA
    assert replica.asked == 1  # the position seen first covers the second

    assert replica_for(150) is None  # behind: the primary
    assert replica.asked == 2


def test_a_replica_that_has_caught_up_is_used_again(replica: FakeReplica) -> None:
    assert replica_for(150) is None

    replica.replayed = 200

    assert replica_for(150) == REPLICA


def test_a_replica_that_does_not_answer_is_skipped_for_the_retry_seconds(
    replica: FakeReplica, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(replicas, "time", SimpleNamespace(monotonic=lambda: now[0]))
    replica.error = OperationalError("connection refused")

    assert replica_for(0) is None
    assert replica_for(0) is None
    assert (replica.asked, replica.closed) == (1, 1)
    assert replica_states() == {REPLICA: "skipped"}

    replica.error = None
    now[0] += 59
    assert replica_for(0) is None
    now[0] += 1

    assert replica_for(0) == REPLICA


def test_a_rebuild_the_replica_fails_is_read_again_from_the_primary(replica: FakeReplica) -> None:
    router = ReplicaRouter()
    reads: list[str | None] = []

    def read() -> str:
        reads.append(router.db_for_read(Group))
        if reads[-1] == REPLICA:
            raise OperationalError("server closed the connection unexpectedly")
        return "body"

    assert read_replica_first(read, replayed=0) == "body"
    assert reads == [REPLICA, None]
    assert replica.closed == 1
    assert replica_for(0) is None  # skipped meanwhile


def test_a_replica_that_hangs_has_its_connection_cut_after_the_timeout(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    settings.DB_REPLICA_TIMEOUT = 0.05
    with socket.create_server(("127.0.0.1", 0)) as server, socket.create_connection(server.getsockname()) as client:
        # A server that accepts and never answers, as a frozen replica's kernel does.
        hung = SimpleNamespace(alias=REPLICA, connection=SimpleNamespace(fileno=client.fileno))
        monkeypatch.setattr(replicas, "connections", {REPLICA: hung})
        client.settimeout(10)  # the test fails, rather than hangs, if nothing cuts it

        with replicas._deadline(REPLICA):
            received = client.recv(1)

    assert received == b""  # the end of the stream: a query waiting on it fails at once


def test_a_rebuild_error_that_is_not_the_replicas_is_raised(replica: FakeReplica) -> None:
    def read() -> str:
        raise ValueError("a bug in the view")

    with pytest.raises(ValueError, match="a bug in the view"):
        read_replica_first(read, replayed=0)


def test_versions_carry_the_primarys_wal_position_above_their_random_bits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(caching, "primary_lsn", lambda: 0x16B3748)

    assert bump_keys(["version:test.a", "version:test.b"])

    versions = tuple(cache.get_many(["version:test.a", "version:test.b"]).values())
    assert [version >> RANDOM_BITS for version in versions] == [0x16B3748, 0x16B3748]
    assert written_lsn(versions) == 0x16B3748
    assert written_lsn((5 << RANDOM_BITS | 7, 9 << RANDOM_BITS)) == 9
    assert written_lsn(()) == 0


@pytest.mark.django_db
def test_without_replicas_a_bump_and_recreated_versions_cost_no_query(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    with django_assert_num_queries(0):
        assert bump_keys(["version:test.a"])
        lookup = read_entry("response:test", ["version:test.a", "version:test.lost"])

    assert written_lsn(lookup.versions) == 0


@pytest.mark.django_db
def test_a_bump_whose_wal_position_cannot_be_read_is_kept_pending(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreadable() -> int:
        raise OperationalError("the primary does not answer")

    monkeypatch.setattr(caching, "primary_lsn", unreadable)
    monkeypatch.setattr(caching, "_start_retry_thread", lambda: None)
    cache.set("version:test.a", 1, timeout=None)

    assert bump_keys(["version:test.a"]) is False

    assert cache.get("version:test.a") == 1
    assert list(PendingInvalidation.objects.values_list("keys", flat=True)) == [["version:test.a"]]


def test_versions_recreated_without_the_wal_position_send_the_rebuild_to_the_primary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unreadable() -> int:
        raise OperationalError("the primary does not answer")

    monkeypatch.setattr(caching, "primary_lsn", unreadable)

    lookup = read_entry("response:test", ["version:test.lost"])

    assert written_lsn(lookup.versions) == UNKNOWN_LSN
    assert cache.get("version:test.lost") is None  # kept for this request only


@pytest.mark.django_db
def test_a_rebuild_reads_a_replica_after_the_versions_position_unless_pinned(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "core.plumbing.db.read_your_writes.ReadYourWritesMiddleware"]
    monkeypatch.setattr(caching, "primary_lsn", lambda: 42)
    asked: list[int] = []

    def spy(read: Any, *, replayed: int) -> Any:
        asked.append(replayed)
        return read()

    monkeypatch.setattr(views, "read_replica_first", spy)

    assert api_client.get("/groups/").status_code == 200
    api_client.cookies[COOKIE] = str(int(time.time() + 3))
    assert api_client.get("/groups/?ordering=-id").status_code == 200

    assert asked == [42]


def test_the_refresh_ahead_rebuild_reads_through_the_same_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.toolkit.refresh import refresh

    asked: list[int] = []

    def spy(read: Any, *, replayed: int) -> Any:
        asked.append(replayed)
        raise OperationalError("stop before the database")

    monkeypatch.setattr(views, "read_replica_first", spy)
    monkeypatch.setattr(caching, "primary_lsn", lambda: 42)

    with pytest.raises(OperationalError):
        refresh("/groups/")

    assert asked == [42]


@pytest.mark.parametrize(
    ("value", "pinned"),
    [
        ("1003", True),
        ("1007", True),  # the window and the allowed clock skew
        ("1000", False),  # past
        ("1008", False),  # further ahead than any value the server sets: a lie
        ("99999999999999999999", False),
        (None, False),
        ("", False),
        ("abc", False),
        ("1e3", False),
        ("-5", False),
        (" 1003", False),
        ("1003.5", False),
        ("\uff11\uff10\uff10\uff13", False),  # full-width digits, which int() would read as 1003
    ],
)
def test_the_pin_cookie_pins_only_a_time_within_the_window(value: str | None, pinned: bool) -> None:
    assert pinned_until(value, now=1000.0, window=WINDOW) is pinned


def _answered(request: HttpRequest) -> HttpResponse:
    """Return an empty response noting whether the request was pinned."""
    return HttpResponse(str(is_pinned(request)))


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_answer_to_a_write_pins_the_clients_reads_for_the_window(method: str, settings: Settings) -> None:
    settings.DB_READ_YOUR_WRITES_SECONDS = WINDOW
    middleware = ReadYourWritesMiddleware(_answered)

    written = middleware(getattr(RequestFactory(), method)("/groups/"))

    cookie = written.cookies[COOKIE]
    assert (cookie["max-age"], cookie["httponly"], cookie["samesite"]) == (6, True, "Lax")
    assert time.time() < int(cookie.value) <= time.time() + WINDOW + 1
    read = RequestFactory().get("/groups/", HTTP_COOKIE=f"{COOKIE}={cookie.value}")
    answered = middleware(read)
    assert isinstance(answered, HttpResponse)
    assert answered.content == b"True"


def test_a_read_neither_pins_nor_sets_the_cookie(settings: Settings) -> None:
    settings.DB_READ_YOUR_WRITES_SECONDS = WINDOW
    request = RequestFactory().get("/groups/")

    answered = ReadYourWritesMiddleware(_answered)(request)

    assert isinstance(answered, HttpResponse)
    assert answered.content == b"False"
    assert COOKIE not in answered.cookies
    assert request.__dict__[PINNED] is False


def test_replica_urls_are_the_primarys_settings_on_another_server() -> None:
    show = (
        "from django.conf import settings; d = settings.DATABASES; "
        "print(sorted(d), d['replica_2']['HOST'], d['replica_2']['PORT'], d['replica_2']['NAME'], "
        "d['replica_2']['OPTIONS']['pool'] == d['default']['OPTIONS']['pool'], d['replica_2']['TEST']['MIRROR'], "
        "settings.DATABASE_ROUTERS, any(name.endswith('ReadYourWritesMiddleware') for name in settings.MIDDLEWARE))"
    )
    result = manage(
        "shell",
        "-c",
        show,
        settings="settings.test",
        DATABASE_URL="postgres://app@db.internal:5432/app",
        DATABASE_REPLICA_URLS="postgres://app@replica-a:5432/app, postgres://reader@replica-b:6432/app_ro",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        "['default', 'replica_1', 'replica_2'] replica-b 6432 app_ro True default "
        "['core.plumbing.db.replicas.ReplicaRouter'] True"
    )


def test_replica_urls_with_the_embedded_sqlite_stop_start_up(tmp_path: Path) -> None:
    sqlite = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    result = manage("check", settings="settings.test", DATABASE_URL=sqlite, DATABASE_REPLICA_URLS="postgres://r/app")

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "DATABASE_REPLICA_URLS needs a PostgreSQL DATABASE_URL: replicas stream from it."
    ]
