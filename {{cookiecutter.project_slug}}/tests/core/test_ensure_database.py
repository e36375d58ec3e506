"""``manage.py ensure_database``, run by ``make migrate``: a missing database is created, a bad server is one line."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

PROJECT = Path(__file__).resolve().parents[2]
DATABASE_URL = os.environ.get("DATABASE_URL", "")


def ensure_database(database_url: str) -> subprocess.CompletedProcess[str]:
    """Return the outcome of ``manage.py ensure_database`` run with DATABASE_URL in a new process."""
    environ = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "settings.test"}
    return subprocess.run(
        [sys.executable, "manage.py", "ensure_database"], cwd=PROJECT, env=environ, capture_output=True, text=True
    )


@pytest.mark.skipif(not DATABASE_URL.startswith("postgres"), reason="DATABASE_URL is not set")
def test_a_database_the_server_does_not_have_is_created_once() -> None:
    server = DATABASE_URL.rsplit("/", 1)[0]
    name = f"ensure_{uuid.uuid4().hex[:12]}"
    try:
        first = ensure_database(f"{server}/{name}")
        second = ensure_database(f"{server}/{name}")

        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith(f"Created the database {name} on ")
        assert (second.returncode, second.stdout) == (0, "")
        with psycopg.connect(f"{server}/{name}") as connection:
            assert connection.execute("SELECT current_database()").fetchone() == (name,)
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
            # FORCE: a pooler in front (make test-pgbouncer) may still hold an idle connection to it.
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_server_that_does_not_answer_stops_it_with_one_line_saying_what_to_do() -> None:
    outcome = ensure_database("postgres://postgres@127.0.0.1:1/anything")

    assert outcome.returncode == 1
    assert outcome.stderr.strip().splitlines() == [
        "CommandError: Cannot connect to PostgreSQL at 127.0.0.1:1 (Connection refused): start the server or fix "
        "DATABASE_URL; without DATABASE_URL the project runs on its embedded SQLite file."
    ]


def test_the_embedded_sqlite_file_gets_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "not" / "yet"

    outcome = ensure_database(f"sqlite:///{folder / 'db.sqlite3'}")

    assert outcome.returncode == 0, outcome.stderr
    assert folder.is_dir()
