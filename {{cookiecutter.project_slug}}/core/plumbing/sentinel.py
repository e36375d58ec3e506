"""Redis through Sentinel: the sentinels of ``REDIS_SENTINELS`` and the service ``REDIS_URL`` names.

``REDIS_SENTINELS=host:port,host:port`` switches the cache (and the Celery broker derived from it) from the server
``REDIS_URL`` names to whichever server the sentinels call the primary of a service. ``REDIS_URL`` then names that
service in its host part, as django-redis spells it: ``redis://mymaster/0`` (a password goes before it as usual,
``redis://:secret@mymaster/0``). ``REDIS_SENTINEL_PASSWORD`` is the sentinels' own password, when they have one.

After a failover, redis-py asks the sentinels again for the primary each time it opens a connection, so the
application follows the promotion by itself; meanwhile the cache reads as misses (``IGNORE_EXCEPTIONS``).
"""

from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

SENTINELS_EXAMPLE = "REDIS_SENTINELS must be host:port pairs separated by commas (10.0.0.1:26379,10.0.0.2:26379)"


class SentinelSetup(NamedTuple):
    """The sentinels' addresses, the service they watch, its database and the servers' and sentinels' passwords."""

    sentinels: list[tuple[str, int]]
    service: str
    db: int
    password: str | None
    sentinel_password: str | None


def sentinel_setup(environ: Mapping[str, str]) -> SentinelSetup | None:
    """Return the Sentinel setup of the environment, None without REDIS_SENTINELS; raise saying what to type."""
    value = environ.get("REDIS_SENTINELS", "").strip()
    if not value:
        return None
    sentinels = [_address(item.strip(), value) for item in value.split(",") if item.strip()]
    redis_url = environ.get("REDIS_URL", "").strip()
    parts = urlsplit(redis_url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    database = parts.path.strip("/") or "0"
    if parts.scheme != "redis" or not parts.hostname or port is not None or not database.isdigit():
        raise ImproperlyConfigured(
            f"With REDIS_SENTINELS, REDIS_URL names the sentinels' service and its database, as redis://mymaster/0: "
            f"{redis_url!r}"
        )
    password = environ.get("REDIS_SENTINEL_PASSWORD", "").strip() or None
    return SentinelSetup(sentinels, parts.hostname, int(database), parts.password, password)


def _address(item: str, value: str) -> tuple[str, int]:
    """Return one sentinel's (host, port), or raise naming the whole value."""
    host, _, port = item.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ImproperlyConfigured(f"{SENTINELS_EXAMPLE}: {value!r}")
    return host, int(port)


def cache_options(setup: SentinelSetup, *, connect_timeout: float, timeout: float) -> dict[str, Any]:
    """Return the django-redis options that reach the service's primary through the sentinels."""
    sentinel_kwargs: dict[str, Any] = {"socket_connect_timeout": connect_timeout, "socket_timeout": timeout}
    if setup.sentinel_password:
        sentinel_kwargs["password"] = setup.sentinel_password
    return {
        "CLIENT_CLASS": "django_redis.client.SentinelClient",
        "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
        "SENTINELS": setup.sentinels,
        # Given, since redis-py then no longer copies the servers' socket timeouts: a sentinel that does not
        # answer must cost as little as a server that does not.
        "SENTINEL_KWARGS": sentinel_kwargs,
    }


def broker_url(setup: SentinelSetup) -> str:
    """Return kombu's ``sentinel://`` URL of the database after the cache's, one address per sentinel."""
    credentials = f":{setup.password}@" if setup.password else ""
    return ";".join(f"sentinel://{credentials}{host}:{port}/{setup.db + 1}" for host, port in setup.sentinels)


def transport_options(setup: SentinelSetup) -> dict[str, Any]:
    """Return the broker's (and result backend's) transport options naming the service and the sentinels' password."""
    options: dict[str, Any] = {"master_name": setup.service}
    if setup.sentinel_password:
        options["sentinel_kwargs"] = {"password": setup.sentinel_password}
    return options
