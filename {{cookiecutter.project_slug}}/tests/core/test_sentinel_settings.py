"""Redis through Sentinel: the settings it switches and refuses, the broker derived, bumps waiting for replicas.

The failover itself, a primary killed under load, is tests/sentinel/ (``make test-sentinel``).
"""

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from pytest_django.fixtures import Settings

from core.models import PendingInvalidation
from core.plumbing.tasks import celery_settings
from core.toolkit.caching import bump_versions, land_pending_bumps, version_key
from tests.core import test_invalidation_retry, test_miss_round_trips
from tests.core.test_settings import manage
from tests.perf.servers import free_port

# The fixtures of other modules this one uses: a Redis server of the test's own, the retry thread left out, the
# Redis commands sent.
own_redis = test_invalidation_retry.own_redis
no_retry_thread = test_invalidation_retry.no_retry_thread
round_trips = test_miss_round_trips.round_trips

SENTINELS = "10.0.0.1:26379,sentinel-2:26380"
THROUGH_SENTINELS = {"REDIS_URL": "redis://:secret@mymaster/2", "REDIS_SENTINELS": SENTINELS}
SHOW_CACHES = (
    "import json; from django.conf import settings as s; "
    "print(json.dumps({'caches': s.CACHES, 'wait': [s.REDIS_WAIT_REPLICAS, s.REDIS_WAIT_TIMEOUT_MS]}, default=str))"
)
SYNC_SECONDS = 10.0


def loaded_settings(**env: str) -> dict[str, Any]:
    """Return the caches and the WAIT settings as the test settings load them with these variables."""
    result = manage("shell", "-c", SHOW_CACHES, settings="settings.test", **env)
    assert result.returncode == 0, result.stderr
    shown: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return shown


def test_redis_sentinels_send_the_cache_and_the_throttles_to_the_service_s_primary() -> None:
    shown = loaded_settings(**THROUGH_SENTINELS)

    default, throttle = shown["caches"]["default"], shown["caches"]["throttle"]
    # One URL: reads go to the primary too, never to a lagging replica.
    assert default["LOCATION"] == throttle["LOCATION"] == ["redis://:secret@mymaster/2"]
    for options in (default["OPTIONS"], throttle["OPTIONS"]):
        assert options["CLIENT_CLASS"] == "django_redis.client.SentinelClient"
        assert options["CONNECTION_FACTORY"] == "django_redis.pool.SentinelConnectionFactory"
        assert options["SENTINELS"] == [["10.0.0.1", 26379], ["sentinel-2", 26380]]
        assert options["SENTINEL_KWARGS"] == {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    assert default["OPTIONS"]["IGNORE_EXCEPTIONS"] is True
    assert "IGNORE_EXCEPTIONS" not in throttle["OPTIONS"]
    assert shown["wait"] == [1, 100]


def test_the_sentinels_password_goes_to_the_sentinels_only() -> None:
    shown = loaded_settings(**THROUGH_SENTINELS, REDIS_SENTINEL_PASSWORD="watchword")

    assert shown["caches"]["default"]["OPTIONS"]["SENTINEL_KWARGS"]["password"] == "watchword"


def test_without_sentinels_no_bump_waits_for_a_replica() -> None:
    shown = loaded_settings(REDIS_URL="redis://127.0.0.1:6379/11")

    assert shown["wait"] == [0, 100]
    assert "SENTINELS" not in shown["caches"]["default"]["OPTIONS"]


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"REDIS_URL": "redis://mymaster/0", "REDIS_SENTINELS": "10.0.0.1"},
            "REDIS_SENTINELS must be host:port pairs separated by commas (10.0.0.1:26379,10.0.0.2:26379): '10.0.0.1'",
        ),
        (
            {"REDIS_URL": "redis://mymaster/0", "REDIS_SENTINELS": "a:26379,b:0"},
            "REDIS_SENTINELS must be host:port pairs separated by commas (10.0.0.1:26379,10.0.0.2:26379): "
            "'a:26379,b:0'",
        ),
        (
            {"REDIS_URL": "redis://10.0.0.5:6379/0", "REDIS_SENTINELS": SENTINELS},
            "With REDIS_SENTINELS, REDIS_URL names the sentinels' service and its database, as redis://mymaster/0: "
            "'redis://10.0.0.5:6379/0'",
        ),
        (
            {"REDIS_URL": "", "REDIS_SENTINELS": SENTINELS},
            "With REDIS_SENTINELS, REDIS_URL names the sentinels' service and its database, as redis://mymaster/0: ''",
        ),
        (
            {**THROUGH_SENTINELS, "DJANGO_REDIS_WAIT_REPLICAS": "-1"},
            "DJANGO_REDIS_WAIT_REPLICAS must be a whole number of replicas, 0 for none: '-1'",
        ),
        (
            {**THROUGH_SENTINELS, "DJANGO_REDIS_WAIT_TIMEOUT_MS": "0"},
            "DJANGO_REDIS_WAIT_TIMEOUT_MS must be a positive whole number of milliseconds: '0'",
        ),
        (
            {"REDIS_URL": "", "DJANGO_REDIS_WAIT_REPLICAS": "1"},
            "DJANGO_REDIS_WAIT_REPLICAS needs REDIS_URL: only Redis has replicas to wait for.",
        ),
    ],
    ids=["no-port", "port-0", "redis-url-a-server", "no-redis-url", "negative-replicas", "wait-forever", "no-redis"],
)
def test_a_malformed_sentinel_setting_stops_start_up_with_one_line_saying_what_to_type(
    env: dict[str, str], line: str
) -> None:
    result = manage("check", settings="settings.test", **env)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [line]


def test_the_broker_is_the_service_s_next_database_through_every_sentinel() -> None:
    celery = celery_settings(THROUGH_SENTINELS)

    broker = "sentinel://:secret@10.0.0.1:26379/3;sentinel://:secret@sentinel-2:26380/3"
    assert celery["CELERY_BROKER_URL"] == celery["CELERY_RESULT_BACKEND"] == broker
    assert celery["CELERY_BROKER_TRANSPORT_OPTIONS"]["master_name"] == "mymaster"
    assert celery["CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS"]["master_name"] == "mymaster"
    assert celery["CELERY_TASK_ALWAYS_EAGER"] is False


def test_the_sentinels_password_reaches_the_broker_s_sentinels() -> None:
    celery = celery_settings({**THROUGH_SENTINELS, "REDIS_SENTINEL_PASSWORD": "watchword"})

    assert celery["CELERY_BROKER_TRANSPORT_OPTIONS"]["sentinel_kwargs"] == {"password": "watchword"}


def test_an_explicit_redis_broker_wins_over_the_sentinels_and_needs_no_master_name() -> None:
    celery = celery_settings({**THROUGH_SENTINELS, "CELERY_BROKER_URL": "redis://queue:6379/0"})

    assert celery["CELERY_BROKER_URL"] == "redis://queue:6379/0"
    assert "master_name" not in celery["CELERY_BROKER_TRANSPORT_OPTIONS"]


def test_a_sentinel_broker_without_redis_sentinels_is_refused_naming_them() -> None:
    with pytest.raises(ImproperlyConfigured, match="needs REDIS_SENTINELS"):
        celery_settings({"CELERY_BROKER_URL": "sentinel://10.0.0.1:26379/1"})


@pytest.fixture
def replica(own_redis: redis.Redis, tmp_path: Path) -> Iterator[redis.Redis]:
    """Start a replica of the test's own Redis and return a client of it once it is in sync."""
    port = free_port()
    primary_port = own_redis.connection_pool.connection_kwargs["port"]
    command = [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1"]
    # Its own folder: a replica writes the copy it syncs from to disk first.
    command += ["--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    command += ["--replicaof", "127.0.0.1", str(primary_port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    try:
        deadline = time.monotonic() + SYNC_SECONDS
        while own_redis.info("replication").get("connected_slaves", 0) < 1 or not _in_sync(client):
            assert time.monotonic() < deadline, "the replica did not sync"
            time.sleep(0.05)
        yield client
    finally:
        process.terminate()
        process.wait(timeout=10)


def _in_sync(client: redis.Redis) -> bool:
    """Return whether a replica's link to its primary is up."""
    try:
        return client.info("replication").get("master_link_status") == "up"
    except redis.ConnectionError:
        return False


@pytest.mark.django_db
@pytest.mark.usefixtures("no_retry_thread")
def test_a_bump_no_replica_acknowledges_is_kept_pending_though_the_primary_took_it(
    own_redis: redis.Redis, settings: Settings
) -> None:
    settings.REDIS_WAIT_REPLICAS, settings.REDIS_WAIT_TIMEOUT_MS = 1, 20
    before = cache.get(version_key(Group))

    landed = bump_versions(Group)

    assert landed is False
    assert PendingInvalidation.objects.count() == 1
    # Written all the same: this primary's readers already see it.
    assert cache.get(version_key(Group)) not in (None, before)


@pytest.mark.django_db
@pytest.mark.usefixtures("no_retry_thread")
def test_a_pending_bump_lands_once_a_replica_acknowledges_it(
    own_redis: redis.Redis, settings: Settings, replica: redis.Redis
) -> None:
    settings.REDIS_WAIT_REPLICAS, settings.REDIS_WAIT_TIMEOUT_MS = 1, 20
    replica.replicaof("NO", "ONE")  # cut off: nothing acknowledges
    assert bump_versions(Group) is False
    replica.replicaof("127.0.0.1", own_redis.connection_pool.connection_kwargs["port"])
    deadline = time.monotonic() + SYNC_SECONDS
    while not _in_sync(replica):
        assert time.monotonic() < deadline, "the replica did not sync again"
        time.sleep(0.05)
    settings.REDIS_WAIT_TIMEOUT_MS = 2000

    assert land_pending_bumps()

    assert not PendingInvalidation.objects.exists()
    key = cache.make_key(version_key(Group))
    assert replica.get(key) == own_redis.get(key) is not None


@pytest.mark.django_db
def test_a_bump_waited_for_is_written_and_waited_for_on_one_connection_in_one_round_trip(
    own_redis: redis.Redis, settings: Settings, replica: redis.Redis, round_trips: list[str]
) -> None:
    settings.REDIS_WAIT_REPLICAS, settings.REDIS_WAIT_TIMEOUT_MS = 1, 2000

    landed = bump_versions(Group)

    assert landed is True
    assert round_trips == ["PIPELINE MSET WAIT", "MGET"]


@pytest.mark.django_db
def test_with_waiting_off_a_bump_costs_the_round_trips_it_always_did(
    own_redis: redis.Redis, settings: Settings, round_trips: list[str]
) -> None:
    settings.REDIS_WAIT_REPLICAS = 0

    landed = bump_versions(Group)

    assert landed is True
    assert round_trips == ["PIPELINE SET SET", "MGET"]
