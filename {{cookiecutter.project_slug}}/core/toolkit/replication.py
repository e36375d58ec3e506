"""Version bumps a Redis failover cannot lose: each written with ``WAIT`` for the replicas, on the same connection.

Redis replicates asynchronously: a primary acknowledges a write before any replica holds it, and if the primary dies
then, Sentinel promotes a replica without that write. For a version bump (core/toolkit/caching.py) that would bring
back the old versions on the new primary, and with them every entry built before the bump: stale reads until their
TTL.

``WAIT numreplicas timeout`` blocks until that many replicas have acknowledged every write sent before it *on the same
connection* (Redis compares each replica's offset with that of the connection's last write), and returns how many
have. So the bump's MSET and the WAIT go in one pipeline: one connection, one round trip. A bump fewer replicas
acknowledged counts as not landed: caching keeps it in the database and retries it, every 0.5 to 4 s, until it lands
on whichever server is the primary by then. Its first write answers on this primary meanwhile, so the process-local
layers and the edge are told of it at once, as of a landed bump (they would serve the old entries until the retry
otherwise), and again when it lands.

How many replicas: ``settings.REDIS_WAIT_REPLICAS``, but through Sentinel no more than the replicas the sentinels see
alive (asked at most once a ``REPLICAS_CHECK_SECONDS`` per process). After a failover that left none, no replica can be
promoted without a bump, and waiting for one that is not there would keep every bump pending until one comes back.
A replica the sentinels see alive is waited for even when it is cut off from the primary: it could be promoted.

With 0 (the default without Sentinel) a bump is written as ``cache.set_many`` writes it: no extra round trip.
"""

import logging
import sys
import time
from collections.abc import Mapping

from django.conf import settings
from django.core.cache import cache
from django_redis.client import DefaultClient, ShardClient
from redis import Redis
from redis.exceptions import RedisError
from redis.sentinel import Sentinel, SentinelConnectionPool

# caching imports this module: its attributes are read at call time, once both are loaded.
from core.toolkit import caching, edge, local

REPLICAS_CHECK_SECONDS = 1.0
# The sentinels' count of live replicas for this process, and when it was taken (time.monotonic()).
_alive: tuple[float, int] | None = None


def set_versions(versions: Mapping[str, int]) -> bool:
    """Write the versions without expiry; return whether enough replicas acknowledged them (True if none is wanted)."""
    client = getattr(cache, "client", None)
    if settings.REDIS_WAIT_REPLICAS and isinstance(client, DefaultClient) and not isinstance(client, ShardClient):
        redis = client.get_client(write=True)
        wanted = min(settings.REDIS_WAIT_REPLICAS, replicas_alive(redis))
        if wanted:
            return _write_and_wait(client, redis, versions, wanted)
    cache.set_many(dict(versions), timeout=None)
    return True


def replicas_alive(redis: Redis) -> int:
    """Return how many replicas the sentinels see alive, at most a second old; without Sentinel, no bound."""
    global _alive
    pool = redis.connection_pool
    if not isinstance(pool, SentinelConnectionPool):
        return sys.maxsize
    now, known = time.monotonic(), _alive
    if known is not None and now - known[0] < REPLICAS_CHECK_SECONDS:
        return known[1]
    count = _ask_sentinels(pool.sentinel_manager, pool.service_name)
    if count is None:
        # No sentinel answers: wait for as many as wanted, the safe side.
        return sys.maxsize
    _alive = (now, count)
    return count


def _ask_sentinels(manager: Sentinel, service: str) -> int | None:
    """Return the live replicas of the service as the first sentinel that answers sees them; None if none answers."""
    for sentinel in manager.sentinels:
        try:
            replicas = sentinel.sentinel_slaves(service)
        except (RedisError, OSError):
            continue
        return sum(1 for replica in replicas if not (replica["is_sdown"] or replica["is_odown"]))
    return None


def _write_and_wait(client: DefaultClient, redis: Redis, versions: Mapping[str, int], wanted: int) -> bool:
    """Write the versions and WAIT for ``wanted`` replicas on the same connection; return whether enough answered."""
    pipeline = redis.pipeline(transaction=False)
    pipeline.mset({client.make_key(key): client.encode(value) for key, value in versions.items()})
    pipeline.wait(wanted, settings.REDIS_WAIT_TIMEOUT_MS)
    try:
        _, acknowledged = pipeline.execute()
    except (RedisError, OSError):
        # As django-redis's IGNORE_EXCEPTIONS: the bump did not land, and is kept for a retry.
        if not getattr(cache, "_ignore_exceptions", False):
            raise
        _outage_logger().warning("A version bump did not reach Redis; it will be retried", exc_info=True)
        return False
    if int(acknowledged) < wanted:
        _outage_logger().warning("A version bump reached %s of %s replicas; it will be retried", acknowledged, wanted)
        _announce(versions)
        return False
    return True


def _announce(versions: Mapping[str, int]) -> None:
    """Tell the process-local layers and the edge of a bump this primary serves though no replica holds it yet."""
    if settings.API_LOCAL_CACHE:
        local.publish(versions)
    edge.purge(caching.surrogate_keys(versions))


def _outage_logger() -> logging.Logger:
    """Return django-redis's logger: its filter logs a Redis outage once an interval, not once a bump."""
    return logging.getLogger(getattr(settings, "DJANGO_REDIS_LOGGER", __name__))
