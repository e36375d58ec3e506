"""The suite runs on the backends the environment names: the embedded default, or PostgreSQL and Redis."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection
from django.test import override_settings

from settings.base import cache_settings

pytestmark = pytest.mark.django_db
ON_POSTGRES = bool(os.environ.get("DATABASE_URL"))
ON_REDIS = bool(os.environ.get("REDIS_URL"))
# Behind pgbouncer (make test-pgbouncer) pgbouncer pools and sets the timeout: tests/core/test_pooler_settings.py.
POOLED = os.environ.get("DJANGO_DB_POOLER", "none") != "none"


PROJECT = Path(__file__).resolve().parents[2]


def in_another_process(code: str) -> str:
    """Return what Python code prints when run in a new process with the test settings."""
    setup = "import django; django.setup(); from django.core.cache import cache; "
    result = subprocess.run(
        [sys.executable, "-c", setup + code], cwd=PROJECT, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@pytest.mark.skipif(ON_POSTGRES, reason="DATABASE_URL is set")
def test_without_database_url_the_database_is_sqlite_with_wal_and_immediate_transactions() -> None:
    options = connection.settings_dict["OPTIONS"]
    assert connection.vendor == "sqlite"
    assert "journal_mode=WAL" in options["init_command"]
    assert options["transaction_mode"] == "IMMEDIATE"


@pytest.mark.skipif(not ON_POSTGRES, reason="DATABASE_URL is not set")
@pytest.mark.skipif(POOLED, reason="DJANGO_DB_POOLER is set: pgbouncer pools")
def test_with_database_url_postgresql_runs_through_the_pool_with_a_statement_timeout() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        (timeout,) = cursor.fetchone()
    assert connection.vendor == "postgresql"
    assert connection.pool is not None  # type: ignore[attr-defined]  # the PostgreSQL wrapper's, not in the stubs
    assert timeout == "30s"


@pytest.mark.skipif(ON_REDIS, reason="REDIS_URL is set")
def test_without_redis_url_the_cache_is_a_file_cache() -> None:
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.filebased.FileBasedCache"


def test_the_cache_is_shared_with_other_processes() -> None:
    cache.set("shared", "written here")
    assert in_another_process("print(cache.get('shared'))") == "written here"

    in_another_process("cache.delete('shared')")

    assert cache.get("shared") is None


@pytest.mark.skipif(not ON_REDIS, reason="REDIS_URL is not set")
def test_with_redis_url_the_cache_is_redis_parsed_by_hiredis() -> None:
    from redis.utils import HIREDIS_AVAILABLE

    client = cache.client.get_client()  # type: ignore[attr-defined]
    assert client.ping()
    assert HIREDIS_AVAILABLE


def test_an_unreachable_redis_reads_as_cache_misses_instead_of_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")

    with override_settings(CACHES={"default": cache_settings()}):
        unreachable = caches["default"]
        unreachable.set("key", "value")
        assert unreachable.get("key") is None
        assert unreachable.get_many(["key", "other"]) == {}
