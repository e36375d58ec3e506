"""The process-local layer (settings.API_LOCAL_CACHE): hits without Redis, kept coherent by pub/sub, else Redis."""

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
import redis
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client
from pytest_django.fixtures import Settings
from redis.client import PubSub

from core.toolkit import caching, local
from core.toolkit.caching import CachedResponse, Lookup, bump_versions, model_wide_keys
from tests.conftest import clear_cache
from tests.core import test_invalidation_retry, test_miss_round_trips
from tests.core.test_backends import ON_REDIS, in_another_process

pytestmark = [
    pytest.mark.urls("tests.core.urls"),
    pytest.mark.skipif(not ON_REDIS, reason="REDIS_URL is not set"),
    pytest.mark.django_db,
]
# How long a bump published elsewhere may take to reach this process in these tests: a correctness bound, not a
# speed target (make bench-local measures the delay).
SEEN_WITHIN_SECONDS = 2.0
# The fixtures of other modules this one uses: a Redis server of the test's own, the Redis commands sent.
own_redis = test_invalidation_retry.own_redis
round_trips = test_miss_round_trips.round_trips
BUMP_ELSEWHERE = "from core.toolkit.caching import bump_versions; from django.contrib.auth.models import Group; "


def wait_for(condition: Callable[[], bool], seconds: float = SEEN_WITHIN_SECONDS) -> float:
    """Return how long the condition took to hold; fail the test if it did not within ``seconds``."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, "condition not met in time"
        time.sleep(0.005)
    return time.monotonic() - start


def serving() -> bool:
    """Return whether this process's layer serves local hits now."""
    return bool(local.stats()["serving"])


@pytest.fixture
def local_layer(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Turn the layer on, in this process and in the processes the test starts, and wait until it serves."""
    settings.API_LOCAL_CACHE = True
    monkeypatch.setenv("DJANGO_API_LOCAL_CACHE", "on")
    local.stop()
    wait_for(serving)
    yield
    local.stop()


def group_names() -> list[str]:
    """Return the names /groups/ lists."""
    return [group["name"] for group in Client().get("/groups/").json()["results"]]


def warm(round_trips: list[str]) -> None:
    """Read /groups/ until this process serves it itself: a miss, a Redis hit kept locally, then a local hit."""

    def read_locally() -> bool:
        round_trips.clear()
        group_names()
        return round_trips == []

    group_names()
    # On a loaded machine the layer may stop serving for a moment (a late pong sends reads to Redis): wait it out
    # rather than count on the third read.
    wait_for(read_locally)
    round_trips.clear()


def bump_in_another_process() -> None:
    """Bump the groups' versions from a process of its own, as a write committed there does."""
    assert in_another_process(BUMP_ELSEWHERE + "print(bump_versions(Group))") == "True"


def rename_without_bump(old: str, new: str) -> None:
    """Change a group's name in the database only, as a write in another process does before its bump lands."""
    Group.objects.filter(name=old).update(name=new)


def test_a_local_hit_costs_no_redis_round_trip(local_layer: None, round_trips: list[str]) -> None:
    Group.objects.create(name="editors")
    group_names()
    group_names()
    round_trips.clear()

    assert group_names() == ["editors"]
    assert round_trips == []


def test_with_the_setting_off_no_subscriber_starts_and_every_read_asks_redis(round_trips: list[str]) -> None:
    local.stop()
    Group.objects.create(name="editors")
    group_names()
    round_trips.clear()

    assert group_names() == ["editors"]
    assert round_trips == ["MGET"]
    assert not any(thread.name == "local-cache" for thread in threading.enumerate())


def test_a_bump_committed_in_another_process_is_seen_here_within_a_bounded_time(
    local_layer: None, round_trips: list[str]
) -> None:
    Group.objects.create(name="editors")
    warm(round_trips)
    rename_without_bump("editors", "authors")
    assert group_names() == ["editors"]  # a local hit: nothing told this process yet

    bump_in_another_process()

    wait_for(lambda: group_names() == ["authors"])


def test_a_write_in_this_process_is_read_back_at_once(
    local_layer: None, round_trips: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    group = Group.objects.create(name="editors")
    warm(round_trips)

    with django_capture_on_commit_callbacks(execute=True):
        group.name = "authors"
        group.save()

    assert group_names() == ["authors"]


def test_a_message_the_subscriber_has_not_applied_yet_sends_reads_to_redis(
    local_layer: None, round_trips: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    Group.objects.create(name="editors")
    warm(round_trips)
    rename_without_bump("editors", "authors")
    resume = threading.Event()
    get_message = PubSub.get_message

    def held_back(self: PubSub, *args: Any, **kwargs: Any) -> Any:
        resume.wait()  # as a subscriber thread waiting for the CPU or the GIL
        return get_message(self, *args, **kwargs)

    monkeypatch.setattr(PubSub, "get_message", held_back)
    monkeypatch.setattr(local, "CONFIRM_SECONDS", 30.0)  # so the missing pongs play no part
    time.sleep(local.PING_SECONDS + 0.1)  # its current wait for a message has ended: it reads no more
    try:
        # Another process's bump, as _set_versions makes it: new versions, then their names published.
        keys = model_wide_keys([Group])
        cache.set_many({key: caching._new_version() for key in keys}, timeout=None)
        local._redis().publish(local.channel(), orjson.dumps(keys))
        wait_for(lambda: not serving())  # the message waits on the subscription's socket

        assert group_names() == ["authors"]
    finally:
        resume.set()


def test_while_the_subscription_is_down_reads_go_to_redis_and_stay_correct(
    own_redis: redis.Redis,
    local_layer: None,
    round_trips: list[str],
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
) -> None:
    settings.API_CACHE_MISS_RATE = None  # a miss budget adds its own counter's round trips
    local.stop()  # the fixtures' order: start again on the test's own Redis
    wait_for(serving)
    Group.objects.create(name="editors")
    warm(round_trips)
    monkeypatch.setattr(local, "RECONNECT_FIRST_DELAY", 3.0)  # keep it down a while after the kill
    own_redis.client_kill_filter(_type="pubsub")

    wait_for(lambda: local.stats() == {"entries": 0, "bytes": 0, "serving": 0})  # all dropped

    rename_without_bump("editors", "authors")
    bump_versions(Group)  # its message reaches no subscriber
    round_trips.clear()

    assert group_names() == ["authors"]
    assert round_trips == ["MGET", "SET", "PIPELINE SET DEL"]  # the miss, through Redis
    round_trips.clear()
    assert group_names() == ["authors"]
    assert round_trips == ["MGET"]  # no local copy is taken while the subscription is down
    wait_for(serving, seconds=10)
    assert group_names() == ["authors"]


def test_a_bump_between_the_redis_read_and_the_local_store_is_not_kept(
    local_layer: None, round_trips: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    Group.objects.create(name="editors")
    group_names()  # the entry is in Redis, not yet here
    rename_without_bump("editors", "authors")
    read_shared = caching._read_shared

    def bump_after_the_read(key: str, version_keys: Any) -> Lookup:
        lookup = read_shared(key, version_keys)
        bump_versions(Group)  # lands and is published after the read saw the old versions
        return lookup

    monkeypatch.setattr(caching, "_read_shared", bump_after_the_read)
    assert group_names() == ["editors"]  # read before the bump: right at the time
    monkeypatch.undo()
    monkeypatch.setattr(local, "RECONNECT_FIRST_DELAY", local.RECONNECT_FIRST_DELAY)

    assert group_names() == ["authors"]


def test_a_flushed_redis_rebuilds_its_versions_and_later_bumps_still_reach_this_process(
    local_layer: None, round_trips: list[str]
) -> None:
    Group.objects.create(name="editors")
    warm(round_trips)
    clear_cache()  # this run's keys only: a FLUSH as far as these entries know

    assert group_names() == ["editors"]
    rename_without_bump("editors", "authors")
    bump_in_another_process()
    wait_for(lambda: group_names() == ["authors"])


def entry(size: int) -> CachedResponse:
    """Return a current entry with a body of ``size`` bytes."""
    return CachedResponse((1,), 200, '"etag"', b"x" * size, time.time() + 60)


def test_the_layer_keeps_at_most_max_entries_dropping_the_least_recently_used(
    local_layer: None, settings: Settings
) -> None:
    settings.API_LOCAL_CACHE_MAX_ENTRIES = 2
    for name in ("a", "b"):
        assert local.put(local.token(), name, ["version"], entry(10))
    assert local.get("a", ["version"]) is not None  # "a" used last: "b" goes first

    assert local.put(local.token(), "c", ["version"], entry(10))

    assert local.stats()["entries"] == 2
    assert local.get("b", ["version"]) is None
    assert local.get("a", ["version"]) is not None


def test_the_layer_keeps_at_most_max_bytes_of_bodies(local_layer: None, settings: Settings) -> None:
    settings.API_LOCAL_CACHE_MAX_BYTES = 250
    for name in ("a", "b", "c"):
        assert local.put(local.token(), name, ["version"], entry(100))
    assert local.put(local.token(), "too big", ["version"], entry(251))

    assert local.stats() == {"entries": 2, "bytes": 200, "serving": 1}
    assert local.get("too big", ["version"]) is None
