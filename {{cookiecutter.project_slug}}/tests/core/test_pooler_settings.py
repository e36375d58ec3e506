"""DJANGO_DB_POOLER=pgbouncer: the settings and the backend as pgbouncer in transaction mode needs them.

The settings are read in this process from a patched environment, a refused value in a new process (as start-up
reads it). The backend's cursors are checked on the suite's PostgreSQL; the last tests run only through pgbouncer
(``make test-pgbouncer``), where they show what the settings prevent.
"""

import os
from typing import Any

import psycopg
import pytest
from django.db import connection, transaction

from core.plumbing.db.cursors import server_cursor_transaction
from settings.base import POOLED_CONN_MAX_AGE, PREPARE_THRESHOLD, database_settings
from tests.core.test_settings import manage

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
POOLED = os.environ.get("DJANGO_DB_POOLER", "none") == "pgbouncer"
URL = "postgres://app@pgbouncer.internal:6432/app"
# A query psycopg prepares once it has run PREPARE_THRESHOLD times on a connection, unless told not to.
RUNS_PAST_THE_THRESHOLD = PREPARE_THRESHOLD + 1


def database(monkeypatch: pytest.MonkeyPatch, **variables: str) -> dict[str, Any]:
    """Return the default database's settings for DATABASE_URL=URL and the variables, and nothing else set."""
    for name in ("DJANGO_DB_POOLER", "DJANGO_DB_PREPARED_STATEMENTS", "DJANGO_DB_STATEMENT_TIMEOUT_MS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", URL)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return database_settings()


def test_without_a_pooler_connections_go_through_djangos_pool_with_the_timeout_and_prepared_statements(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = database(monkeypatch)

    assert config["POOLER"] == "none"
    assert config["CONN_MAX_AGE"] == 0
    assert "pool" in config["OPTIONS"]
    assert config["OPTIONS"]["options"] == "-c statement_timeout=30000"
    assert config["OPTIONS"]["server_side_binding"] is True
    assert config["OPTIONS"]["prepare_threshold"] == PREPARE_THRESHOLD


def test_behind_pgbouncer_djangos_pool_is_off_and_each_connection_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    config = database(monkeypatch, DJANGO_DB_POOLER="pgbouncer")

    assert config["POOLER"] == "pgbouncer"
    assert "pool" not in config["OPTIONS"]
    assert config["CONN_MAX_AGE"] == POOLED_CONN_MAX_AGE
    assert config["CONN_HEALTH_CHECKS"] is True


def test_behind_pgbouncer_no_options_startup_parameter_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    config = database(monkeypatch, DJANGO_DB_POOLER="pgbouncer")

    assert "options" not in config["OPTIONS"]


def test_behind_pgbouncer_prepared_statements_are_off_down_to_psycopgs_threshold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    options = database(monkeypatch, DJANGO_DB_POOLER="pgbouncer")["OPTIONS"]

    assert options["server_side_binding"] is False
    # Set, not left out: psycopg's own default would prepare a query on its fifth run.
    assert "prepare_threshold" in options
    assert options["prepare_threshold"] is None


def test_prepared_statements_false_alone_sets_no_prepare_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    options = database(monkeypatch, DJANGO_DB_PREPARED_STATEMENTS="false")["OPTIONS"]

    assert options["server_side_binding"] is False
    assert "prepare_threshold" in options
    assert options["prepare_threshold"] is None
    assert "pool" in options


def test_prepared_statements_can_be_turned_on_behind_a_pgbouncer_that_keeps_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    options = database(monkeypatch, DJANGO_DB_POOLER="pgbouncer", DJANGO_DB_PREPARED_STATEMENTS="true")["OPTIONS"]

    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == PREPARE_THRESHOLD


@pytest.mark.parametrize("value", ["pgpool", "transaction", "yes"])
def test_a_pooler_that_is_neither_none_nor_pgbouncer_stops_start_up(value: str) -> None:
    result = manage("check", settings="settings.test", DATABASE_URL=URL, DJANGO_DB_POOLER=value)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"DJANGO_DB_POOLER must be none or pgbouncer (transaction pooling): {value!r}"
    ]


def test_a_statement_timeout_set_behind_pgbouncer_stops_start_up_saying_where_to_set_it() -> None:
    result = manage(
        "check",
        settings="settings.test",
        DATABASE_URL=URL,
        DJANGO_DB_POOLER="pgbouncer",
        DJANGO_DB_STATEMENT_TIMEOUT_MS="5000",
    )

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("DJANGO_DB_STATEMENT_TIMEOUT_MS does not apply behind pgbouncer")
    assert "ALTER ROLE" in lines[0]


@pytest.mark.skipif(not ON_POSTGRES, reason="DATABASE_URL is not set")
@pytest.mark.django_db(transaction=True)
class TestCursorsBehindPgbouncer:
    """Server-side cursors: only inside a transaction behind pgbouncer; WITH HOLD outside one without it."""

    @pytest.fixture(autouse=True)
    def _pooler(self, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
        """Set the connection's POOLER to the test's ``pooler`` parameter."""
        monkeypatch.setitem(connection.settings_dict, "POOLER", getattr(request, "param", "pgbouncer"))

    def test_outside_a_transaction_a_chunked_read_gets_a_plain_cursor(self) -> None:
        with connection.chunked_cursor() as cursor:
            assert not isinstance(cursor.cursor, psycopg.ServerCursor)

    def test_inside_a_transaction_a_chunked_read_gets_a_server_side_cursor_without_hold(self) -> None:
        with transaction.atomic(), connection.chunked_cursor() as cursor:
            assert isinstance(cursor.cursor, psycopg.ServerCursor)
            assert cursor.cursor.withhold is False

    def test_the_block_for_server_side_cursors_is_a_transaction(self) -> None:
        with server_cursor_transaction():
            assert connection.in_atomic_block

    @pytest.mark.parametrize("_pooler", ["none"], indirect=True)
    def test_without_a_pooler_a_chunked_read_outside_a_transaction_is_held(self) -> None:
        with server_cursor_transaction(), connection.chunked_cursor() as cursor:
            assert not connection.in_atomic_block
            assert isinstance(cursor.cursor, psycopg.ServerCursor)
            assert cursor.cursor.withhold is True


def run_across_server_connections(**params: Any) -> None:
    """Run one query past psycopg's threshold on a connection, then again once pgbouncer gave it another server's.

    pgbouncer hands out the server connection used last first: the second client takes the first one's, in a
    transaction it keeps open, so the first one's next query runs on another server connection.
    """
    with psycopg.connect(**params, autocommit=True) as first, psycopg.connect(**params) as second:
        server_bound = psycopg.Cursor(first)  # what server_side_binding uses; Django's default binds client-side
        for number in range(RUNS_PAST_THE_THRESHOLD):
            server_bound.execute("SELECT %s::int", [number])
        second.execute("SELECT 1")
        server_bound.execute("SELECT %s::int", [0])
        second.rollback()


@pytest.mark.skipif(not POOLED, reason="only through pgbouncer in transaction mode (make test-pgbouncer)")
@pytest.mark.django_db
def test_through_pgbouncer_a_query_past_psycopgs_threshold_still_runs_on_another_server_connection() -> None:
    params = connection.get_connection_params()

    run_across_server_connections(**params)
    # The same with psycopg's default threshold: the statement prepared on one server connection is run on another.
    with pytest.raises(psycopg.errors.DatabaseError, match="prepared statement"):
        run_across_server_connections(**params | {"prepare_threshold": PREPARE_THRESHOLD})


@pytest.mark.skipif(not POOLED, reason="only through pgbouncer in transaction mode (make test-pgbouncer)")
@pytest.mark.django_db
def test_through_pgbouncer_the_connection_has_no_django_pool_and_the_server_sets_the_statement_timeout() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        (timeout,) = cursor.fetchone()

    assert connection.pool is None  # type: ignore[attr-defined]  # the PostgreSQL wrapper's, not in the stubs
    # tests/pgbouncer/run.py's connect_query, as a deployment's pgbouncer.ini or ALTER ROLE sets it.
    assert timeout == "30s"
