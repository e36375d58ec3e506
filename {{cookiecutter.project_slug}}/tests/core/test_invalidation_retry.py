"""A version bump the cache drops is kept in the database and retried until it lands; /health/ says so meanwhile."""

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.contrib.auth.models import Group
from django.core.cache import cache, caches
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError
from django.test import RequestFactory, override_settings
from rest_framework.test import APIClient

from core.models import PendingInvalidation
from core.plumbing.health import health
from core.toolkit import caching
from core.toolkit.caching import bump_versions, land_pending_bumps, pending_bumps, version_key
from settings.base import cache_settings
from tests.perf.servers import free_port

pytestmark = pytest.mark.urls("tests.core.urls")


def _dropped(self: Any, data: dict[str, Any], timeout: Any = None, version: Any = None) -> list[str]:
    """Drop a write silently, as django-redis ignoring errors does when Redis is down or out of memory."""
    return []


class CacheWrites:
    """Switch the default cache's set_many between dropping every write and its real behaviour."""

    def __init__(self) -> None:
        # On the class: each thread has a cache instance of its own, and the retry thread must see the outage too.
        self.backend = type(caches["default"])
        self.original = self.backend.set_many

    def drop(self) -> None:
        """Drop every set_many from now on."""
        self.backend.set_many = _dropped  # type: ignore[method-assign]

    def restore(self) -> None:
        """Store again."""
        self.backend.set_many = self.original  # type: ignore[method-assign]


@pytest.fixture
def cache_writes() -> Iterator[CacheWrites]:
    """Return the switch of the cache's writes; they work again after the test."""
    switch = CacheWrites()
    yield switch
    switch.restore()


@pytest.fixture
def no_retry_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Leave retries to the test: no background thread lands a bump behind its back."""
    monkeypatch.setattr(caching, "_start_retry_thread", lambda: None)


def group_names(client: APIClient) -> list[str]:
    """Return the group names the cached list shows."""
    return [row["name"] for row in client.get("/groups/").json()["results"]]


def health_check() -> dict[str, Any]:
    """Return the health check's status code and body."""
    response = health(RequestFactory().get("/health/"))
    body: dict[str, Any] = json.loads(response.content)
    return {"code": response.status_code, **body}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("no_retry_thread")
def test_health_is_degraded_while_a_bump_is_pending_and_lands_it_when_the_cache_is_back(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = Group.objects.create(name="editors")
    assert group_names(api_client) == ["editors"]
    backend = type(caches["default"])
    monkeypatch.setattr(backend, "set_many", lambda self, data, timeout=None, version=None: [])

    group.name = "writers"
    group.save()

    assert group_names(api_client) == ["editors"]  # stale while the cache refuses the bump
    degraded = health_check()
    assert degraded["code"] == 200
    assert degraded["status"] == "degraded"
    assert degraded["checks"] == {"database": "ok", "cache": "ok", "invalidation": "pending"}
    assert degraded["pending_invalidations"]["count"] == 1
    assert degraded["pending_invalidations"]["oldest_seconds"] >= 0

    monkeypatch.undo()
    assert health_check()["status"] == "ok"
    assert group_names(api_client) == ["writers"]
    assert not PendingInvalidation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_process_retries_a_dropped_bump_in_the_background_until_it_lands(
    api_client: APIClient, cache_writes: CacheWrites
) -> None:
    group = Group.objects.create(name="editors")
    assert group_names(api_client) == ["editors"]
    cache_writes.drop()

    group.name = "writers"
    group.save()
    assert group_names(api_client) == ["editors"]
    cache_writes.restore()

    # Polls a hit until the retry lands; a generous deadline, since the machine may be busy.
    deadline = time.monotonic() + 20
    while group_names(api_client) != ["writers"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert group_names(api_client) == ["writers"]
    thread = caching._retry_thread
    if thread is not None:
        thread.join(timeout=20)
    assert not PendingInvalidation.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("no_retry_thread")
def test_a_bump_the_cache_drops_is_kept_with_its_keys(cache_writes: CacheWrites) -> None:
    cache_writes.drop()

    assert bump_versions(Group) is False

    (pending,) = PendingInvalidation.objects.all()
    assert version_key(Group) in pending.keys
    assert pending_bumps().pending == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("no_retry_thread")
def test_a_bump_the_cache_raises_on_is_kept_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(type(caches["default"]), "set_many", fail)

    assert bump_versions(Group) is False
    assert PendingInvalidation.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("no_retry_thread")
def test_landing_pending_bumps_gives_their_keys_new_versions_and_deletes_them(cache_writes: CacheWrites) -> None:
    before = cache.get(version_key(Group))
    cache_writes.drop()
    bump_versions(Group)
    assert not land_pending_bumps()

    cache_writes.restore()

    assert land_pending_bumps()
    assert cache.get(version_key(Group)) != before
    assert not PendingInvalidation.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("no_retry_thread")
def test_landing_works_through_every_batch(cache_writes: CacheWrites) -> None:
    cache_writes.drop()
    for _ in range(5):
        bump_versions(Group)
    cache_writes.restore()

    assert land_pending_bumps(batch=2)
    assert not PendingInvalidation.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("no_retry_thread")
def test_the_land_invalidations_command_fails_while_bumps_are_pending(cache_writes: CacheWrites) -> None:
    cache_writes.drop()
    bump_versions(Group)

    with pytest.raises(CommandError, match="1 cache invalidations still pending"):
        call_command("land_invalidations")
    cache_writes.restore()
    call_command("land_invalidations")

    assert not PendingInvalidation.objects.exists()


@pytest.mark.django_db
def test_a_bump_neither_the_cache_nor_the_database_takes_is_logged_not_raised(
    cache_writes: CacheWrites, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("database down")

    monkeypatch.setattr(PendingInvalidation.objects, "create", refuse)
    cache_writes.drop()

    assert bump_versions(Group) is False
    assert "Cache invalidation lost" in caplog.text


@pytest.fixture
def own_redis() -> Iterator[redis.Redis]:
    """Start a Redis server of the test's own (never the shared one), point the cache at it; return a client."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    admin = redis.Redis(port=port)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                admin.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        with pytest.MonkeyPatch.context() as env:
            env.setenv("REDIS_URL", f"redis://127.0.0.1:{port}/0")
            with override_settings(CACHES={"default": cache_settings()}):
                yield admin
                caches["default"].close()
    finally:
        process.terminate()
        process.wait(timeout=10)


# Each fault as a way to start it and a way to end it.
REDIS_FAULTS: dict[str, tuple[Callable[[redis.Redis], object], Callable[[redis.Redis], object]]] = {
    "paused for writes": (lambda r: r.client_pause(5000, all=False), lambda r: r.client_unpause()),
    "out of memory": (lambda r: r.config_set("maxmemory", 1), lambda r: r.config_set("maxmemory", 0)),
}


@pytest.mark.django_db
@pytest.mark.usefixtures("no_retry_thread")
@pytest.mark.parametrize("fault", REDIS_FAULTS)
def test_a_bump_real_redis_refuses_is_kept_and_lands_once_redis_takes_writes(
    own_redis: redis.Redis, fault: str
) -> None:
    start, end = REDIS_FAULTS[fault]
    own_redis.config_set("maxmemory-policy", "noeviction")
    before = cache.get(version_key(Group))
    start(own_redis)

    landed = bump_versions(Group)
    end(own_redis)

    assert landed is False
    assert land_pending_bumps()
    assert cache.get(version_key(Group)) not in (None, before)
    assert not PendingInvalidation.objects.exists()
