"""A per-process circuit breaker for database connections.

With PostgreSQL down, every request that needs a connection used to wait out the pool's timeout, so every worker
was soon waiting and even cache hits went unanswered. After a failed connection the breaker opens: for
``window`` seconds a request that needs a new connection fails at once with ``DatabaseUnavailableError`` (a
``django.db.OperationalError``), which the project answers with a 503 and ``Retry-After``. Then one request at a
time probes the database; the first that connects closes the breaker.
"""

import logging
import math
import threading
import time

from django.db import OperationalError

logger = logging.getLogger(__name__)


class DatabaseUnavailableError(OperationalError):
    """Raised instead of connecting while the breaker is open; says when to retry."""

    def __init__(self, alias: str, retry_after: float) -> None:
        super().__init__(f"Database {alias!r} unavailable: not trying to connect for another {retry_after:.1f} s")
        self.retry_after = retry_after


class CircuitBreaker:
    """Closed while connections succeed; open for ``window`` seconds after a failure; then one probe at a time."""

    def __init__(self, alias: str, window: float) -> None:
        self.alias = alias
        self.window = window
        self._lock = threading.Lock()
        self._opened_at: float | None = None
        self._probing = False

    @property
    def is_open(self) -> bool:
        """Return whether connections are being refused or probed."""
        return self._opened_at is not None

    def before_attempt(self) -> bool:
        """Return whether the attempt allowed now is a probe; raise DatabaseUnavailableError while open."""
        with self._lock:
            if self._opened_at is None:
                return False
            remaining = self._opened_at + self.window - time.monotonic()
            if remaining > 0 or self._probing:
                raise DatabaseUnavailableError(self.alias, max(remaining, 0.0))
            # Half-open: this request probes the database; the others keep failing fast until it knows.
            self._probing = True
            return True

    def failed(self) -> None:
        """Open the breaker (again) after a failed connection."""
        with self._lock:
            if self._opened_at is None:
                logger.warning(
                    "Database %r: connection failed; refusing new connections for %g s at a time until one succeeds",
                    self.alias,
                    self.window,
                )
            self._opened_at = time.monotonic()
            self._probing = False

    def succeeded(self) -> None:
        """Close the breaker after a successful connection."""
        with self._lock:
            if self._opened_at is not None:
                logger.warning("Database %r: connected again", self.alias)
            self._opened_at = None
            self._probing = False

    def retry_after(self) -> int:
        """Return the whole seconds until the next probe, at least 1: the value of a Retry-After header."""
        with self._lock:
            remaining = self.window if self._opened_at is None else self._opened_at + self.window - time.monotonic()
        return max(1, math.ceil(remaining))


_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(alias: str, window: float) -> CircuitBreaker:
    """Return the process's breaker of a database alias."""
    with _breakers_lock:
        return _breakers.setdefault(alias, CircuitBreaker(alias, window))


def reset_breakers() -> None:
    """Forget every breaker, closing them all."""
    with _breakers_lock:
        _breakers.clear()
