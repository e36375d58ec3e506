"""Throttles that keep counting while the shared cache is down.

DRF's throttles count in the default cache, which ignores Redis errors: a failed read is a miss and a failed write
is dropped, so during an outage every request looks like a client's first and no limit holds. These count in the
``throttle`` cache alias instead, the same cache without ``IGNORE_EXCEPTIONS``; when it fails they count in a
memory cache of the worker process until it answers again. A limit then holds per process: during an outage a
client gets at most the rate times the number of worker processes.
"""

import logging
import time
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.locmem import LocMemCache
from rest_framework import throttling

logger = logging.getLogger(__name__)

THROTTLE_CACHE_ALIAS = "throttle"
# After a failure the shared cache is tried again only after this long: a request during an outage then pays no
# connection timeout for its throttle.
RETRY_SHARED_AFTER = 5.0
# The local counts are per client, and a process sees only a bounded number of clients between two outages.
LOCAL_MAX_ENTRIES = 10_000


class FallbackCache(BaseCache):
    """The shared throttle cache, or a process-local memory cache for a while after the shared one failed.

    Only ``get`` and ``set``, the two calls DRF's throttles make, are implemented.
    """

    def __init__(self, alias: str = THROTTLE_CACHE_ALIAS) -> None:
        super().__init__({})
        self.alias = alias
        # A name of its own: LocMemCache instances with the same name share their entries.
        self.local = LocMemCache(f"{__name__}.{id(self)}", {"OPTIONS": {"MAX_ENTRIES": LOCAL_MAX_ENTRIES}})
        self.failed_at: float | None = None

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        """Return the value from the shared cache, or from the local one while the shared one is down."""
        return self._call("get", key, default, version=version)

    def set(self, key: str, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        """Store the value in the shared cache, or in the local one while the shared one is down."""
        self._call("set", key, value, timeout, version=version)

    def reset(self) -> None:
        """Forget the local counts and any failure: the shared cache is tried on the next call."""
        self.local.clear()
        self.failed_at = None

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Return the shared cache's answer to a call, or the local cache's while the shared one is down."""
        if self.failed_at is not None and time.monotonic() - self.failed_at < RETRY_SHARED_AFTER:
            return getattr(self.local, method)(*args, **kwargs)
        try:
            answer = getattr(self._shared(), method)(*args, **kwargs)
        except Exception as exc:
            # Any backend error means the same here: count in this process until the shared cache answers.
            if self.failed_at is None:
                logger.warning(
                    "Throttle cache %r failed (%s: %s): throttles count per process for now",
                    self.alias,
                    type(exc).__name__,
                    exc,
                )
            self.failed_at = time.monotonic()
            return getattr(self.local, method)(*args, **kwargs)
        if self.failed_at is not None:
            logger.warning("Throttle cache %r answers again: throttles count in it again", self.alias)
            self.failed_at = None
        return answer

    def _shared(self) -> BaseCache:
        """Return the shared throttle cache, or the default cache in a project that defines none."""
        return caches[self.alias if self.alias in caches.settings else DEFAULT_CACHE_ALIAS]


throttle_cache = FallbackCache()


class AnonRateThrottle(throttling.AnonRateThrottle):
    """DRF's anonymous throttle, counting per process while the shared cache is down."""

    cache = throttle_cache


class UserRateThrottle(throttling.UserRateThrottle):
    """DRF's per-user throttle, counting per process while the shared cache is down."""

    cache = throttle_cache


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    """DRF's per-view scoped throttle (``throttle_scope``), counting per process while the shared cache is down."""

    cache = throttle_cache
