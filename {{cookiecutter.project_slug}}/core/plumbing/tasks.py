"""Background tasks' settings (Celery): the broker, in-process tasks on the embedded default, and the task defaults.

- **The broker** is ``CELERY_BROKER_URL``, else the Redis server of ``REDIS_URL`` in the database after the cache's
  (``redis://host:6379/0`` queues in ``/1``), so a ``FLUSHDB`` of the cache never empties the queue. Eviction is
  server-wide, though: a Redis that evicts cache entries (``allkeys-lru``) may evict queued tasks too, so production
  gives the broker a server of its own with ``noeviction`` (README, "Background work: Celery").
- **With REDIS_SENTINELS** (core/plumbing/sentinel.py) and no ``CELERY_BROKER_URL``, the broker is that database of
  the sentinels' service, through kombu's ``sentinel://`` transport (one address per sentinel, ``master_name`` in the
  transport options), so the queue follows a failover as the cache does; the result backend too.
- **Without either** (the embedded default), tasks run in-process, in the call that sends them, and their errors
  reach that caller: ``make run`` needs no worker, and the request that sends a task waits for it.
- **Every task** is acknowledged once it has run (``acks_late``) and put back in the queue when its worker dies, so
  tasks must be idempotent; a worker takes one task at a time; the soft time limit raises in the task, the hard one
  kills it; and the broker hands an unacknowledged task to another worker only after ``visibility_timeout``, which
  must therefore outlast the hard limit, and every task's own (a worker logs an error for each that does not).
"""

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

from core.plumbing import sentinel

IN_PROCESS_BROKER = "memory://localhost/"
REDIS_SCHEMES = ("redis", "rediss")
# Seconds: a task gets SoftTimeLimitExceeded at the soft limit, its process is killed at the hard one.
DEFAULT_SOFT_TIME_LIMIT = 300
DEFAULT_TIME_LIMIT = 360
# Seconds the broker waits for an acknowledgement before it hands a task to another worker (kombu's default): only a
# task whose whole worker died waits this long (one whose pool process died is put back at once).
DEFAULT_VISIBILITY_TIMEOUT = 3600
# Sweeps for a dead worker's tasks per visibility timeout: they come back at most a sixtieth of it late.
RESTORE_SWEEPS = 60


def broker_url(environ: Mapping[str, str]) -> str:
    """Return the broker's URL: CELERY_BROKER_URL, else REDIS_URL's next database, else the in-process stand-in."""
    explicit = environ.get("CELERY_BROKER_URL", "").strip()
    if explicit:
        return explicit
    setup = sentinel.sentinel_setup(environ)
    if setup is not None:
        return sentinel.broker_url(setup)
    redis_url = environ.get("REDIS_URL", "").strip()
    return next_database(redis_url) if redis_url else IN_PROCESS_BROKER


def next_database(redis_url: str) -> str:
    """Return the URL of the database after the one a ``redis://`` URL names (0 when it names none)."""
    parts = urlsplit(redis_url)
    if parts.scheme not in REDIS_SCHEMES:
        raise ImproperlyConfigured(
            f"Set CELERY_BROKER_URL: the broker cannot be derived from REDIS_URL {redis_url!r}."
        )
    number = parts.path.strip("/") or "0"
    if not number.isdigit():
        raise ImproperlyConfigured(f"REDIS_URL must name its database as a number: {redis_url!r}")
    return urlunsplit(parts._replace(path=f"/{int(number) + 1}"))


def sentinel_options(environ: Mapping[str, str], broker: str) -> dict[str, Any]:
    """Return the transport options a ``sentinel://`` broker needs from REDIS_SENTINELS (none for another broker)."""
    if not broker.startswith("sentinel://"):
        return {}
    setup = sentinel.sentinel_setup(environ)
    if setup is None:
        raise ImproperlyConfigured(
            "A sentinel:// CELERY_BROKER_URL needs REDIS_SENTINELS, and REDIS_URL naming the service (redis://mymaster/0)."
        )
    return sentinel.transport_options(setup)


def seconds(environ: Mapping[str, str], name: str, default: int) -> int:
    """Return a positive whole number of seconds from the environment, or raise naming the bad value."""
    value = environ.get(name, "").strip() or str(default)
    if not value.isdigit() or int(value) == 0:
        raise ImproperlyConfigured(f"{name} must be a positive whole number of seconds: {value!r}")
    return int(value)


def concurrency(environ: Mapping[str, str]) -> int | None:
    """Return CELERY_WORKER_CONCURRENCY, or None (one process per core) when unset; raise naming a bad value."""
    value = environ.get("CELERY_WORKER_CONCURRENCY", "").strip()
    if value and (not value.isdigit() or int(value) == 0):
        raise ImproperlyConfigured(f"CELERY_WORKER_CONCURRENCY must be a positive whole number: {value!r}")
    return int(value) if value else None


def time_limits(environ: Mapping[str, str]) -> tuple[int, int, int]:
    """Return the soft and hard time limits and the visibility timeout, checked against each other."""
    soft = seconds(environ, "CELERY_TASK_SOFT_TIME_LIMIT", DEFAULT_SOFT_TIME_LIMIT)
    hard = seconds(environ, "CELERY_TASK_TIME_LIMIT", max(DEFAULT_TIME_LIMIT, soft + 1))
    visibility = seconds(environ, "CELERY_BROKER_VISIBILITY_TIMEOUT", DEFAULT_VISIBILITY_TIMEOUT)
    if soft >= hard:
        raise ImproperlyConfigured(
            f"CELERY_TASK_SOFT_TIME_LIMIT ({soft}) must be below CELERY_TASK_TIME_LIMIT ({hard})."
        )
    if visibility <= hard:
        # Redis hands an unacknowledged task to another worker after this: a task still running would run twice.
        raise ImproperlyConfigured(
            f"CELERY_BROKER_VISIBILITY_TIMEOUT ({visibility}) must exceed CELERY_TASK_TIME_LIMIT ({hard})."
        )
    return soft, hard, visibility


def celery_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """Return the CELERY_* settings ``core/celery.py`` reads, or raise ImproperlyConfigured naming a bad value."""
    broker = broker_url(environ)
    in_process = broker == IN_PROCESS_BROKER
    soft, hard, visibility = time_limits(environ)
    through_sentinels = sentinel_options(environ, broker)
    return {
        "CELERY_BROKER_URL": broker,
        # Results (task state, return values) beside the queue, for tasks that are polled; none in-process.
        "CELERY_RESULT_BACKEND": None if in_process else broker,
        "CELERY_RESULT_EXPIRES": seconds(environ, "CELERY_RESULT_EXPIRES", 86_400),
        # Another name lets projects (or a benchmark's runs) share a broker without taking each other's tasks.
        "CELERY_TASK_DEFAULT_QUEUE": environ.get("CELERY_TASK_DEFAULT_QUEUE", "").strip() or "celery",
        "CELERY_TASK_ALWAYS_EAGER": in_process,
        "CELERY_TASK_EAGER_PROPAGATES": in_process,
        "CELERY_TASK_SERIALIZER": "json",
        "CELERY_RESULT_SERIALIZER": "json",
        "CELERY_ACCEPT_CONTENT": ["json"],
        "CELERY_TASK_ACKS_LATE": True,
        "CELERY_TASK_REJECT_ON_WORKER_LOST": True,
        "CELERY_WORKER_PREFETCH_MULTIPLIER": 1,
        # Processes of `make worker`; by default one per core.
        "CELERY_WORKER_CONCURRENCY": concurrency(environ),
        "CELERY_TASK_SOFT_TIME_LIMIT": soft,
        "CELERY_TASK_TIME_LIMIT": hard,
        "CELERY_BROKER_TRANSPORT_OPTIONS": {
            "visibility_timeout": visibility,
            # Each worker looks for tasks a dead worker held this often (kombu's default is every 100 s or so).
            "unacked_restore_interval": max(1, visibility // RESTORE_SWEEPS),
            "unacked_restore_throttle": 1,
            **through_sentinels,
        },
        "CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS": {"visibility_timeout": visibility, **through_sentinels},
        "CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP": True,
        "CELERY_WORKER_HIJACK_ROOT_LOGGER": False,
    }
