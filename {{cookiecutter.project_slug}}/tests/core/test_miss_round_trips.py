"""What a miss costs the cache on Redis: three round trips, and one build however many readers miss at once."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test import Client
from pytest_django.fixtures import Settings
from redis.client import Pipeline, Redis

from core.toolkit.caching import LOCK_SUFFIX, bump_versions
from tests.core.test_backends import ON_POSTGRES, ON_REDIS
from tests.core.test_caching import group_list_key
from tests.core.urls import GroupListView

pytestmark = [
    pytest.mark.urls("tests.core.urls"),
    pytest.mark.skipif(not ON_REDIS, reason="REDIS_URL is not set"),
]
READERS = 10
BUILD_SECONDS = 0.3


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Return the Redis commands sent from now on, one entry per round trip (a pipeline is one)."""
    sent: list[str] = []
    command, execute = Redis.execute_command, Pipeline.execute

    def one_command(self: Redis, *args: Any, **options: Any) -> Any:
        sent.append(str(args[0]))
        return command(self, *args, **options)  # type: ignore[no-untyped-call]

    def one_pipeline(self: Pipeline, *args: Any, **options: Any) -> Any:
        sent.append("PIPELINE " + " ".join(str(queued[0][0]) for queued in self.command_stack))
        return execute(self, *args, **options)

    monkeypatch.setattr(Redis, "execute_command", one_command)
    monkeypatch.setattr(Pipeline, "execute", one_pipeline)
    return sent


@pytest.mark.django_db
def test_a_miss_reads_locks_then_stores_and_unlocks_in_one_pipeline(
    round_trips: list[str], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.API_CACHE_MISS_RATE = None  # a miss budget adds its own counter's round trips
    settings.API_CACHE_STALE_IF_ERROR = 1000
    monkeypatch.setattr("random.uniform", lambda low, high: 1.0)
    Group.objects.create(name="editors")
    Client().get("/groups/")
    bump_versions(Group)
    round_trips.clear()

    response = Client().get("/groups/")

    assert response.status_code == 200
    assert round_trips == ["MGET", "SET", "PIPELINE SET DEL"]
    key = cache.make_key(group_list_key())
    assert 1299 <= cache.client.get_client().ttl(key) <= 1300  # type: ignore[attr-defined]
    assert not cache.has_key(group_list_key() + LOCK_SUFFIX)


@pytest.fixture
def slow_build(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make every build of /groups/ take a while, so concurrent readers arrive during it; return the build count."""
    builds: list[int] = []
    lock = threading.Lock()
    read: Callable[..., Any] = GroupListView.read

    def slow_read(self: GroupListView, **kwargs: Any) -> Any:
        with lock:
            builds.append(1)
        threading.Event().wait(BUILD_SECONDS)
        return read(self, **kwargs)

    monkeypatch.setattr(GroupListView, "read", slow_read)
    return builds


@pytest.mark.skipif(not ON_POSTGRES, reason="DATABASE_URL is not set: threads need connections of their own")
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_misses_on_one_key_run_the_queries_once(slow_build: list[int]) -> None:
    Group.objects.create(name="editors")
    queries: list[str] = []
    bodies: list[bytes] = []
    start = threading.Barrier(READERS)
    record = threading.Lock()

    def count(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        with record:
            queries.append(sql)
        return execute(sql, *args)

    def reader() -> None:
        with connection.execute_wrapper(count):
            start.wait()
            response = Client().get("/groups/")
        connection.close()
        with record:
            bodies.append(response.content if response.status_code == 200 else b"")

    threads = [threading.Thread(target=reader) for _ in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    one_build = len(queries)
    Group.objects.create(name="writers")  # a new version, then one reader alone: what one build costs
    queries.clear()
    with connection.execute_wrapper(count):
        Client().get("/groups/")

    assert len(slow_build) == 2  # the ten readers' build, then the lone one
    assert one_build == len(queries) > 0
    assert len(set(bodies)) == 1
    assert bodies[0].startswith(b'{"next"')
