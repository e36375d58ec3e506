"""Django's PostgreSQL backend, with a circuit breaker around each new connection (see ``core.plumbing.db.breaker``).

The breaker's window is the ``CIRCUIT_BREAKER_SECONDS`` key of the ``DATABASES`` entry (default 2); 0 turns the
breaker off.
"""

from typing import Any

from django.db.backends.postgresql import base

from core.plumbing.db.breaker import CircuitBreaker, breaker_for

DEFAULT_WINDOW = 2.0


class DatabaseWrapper(base.DatabaseWrapper):
    """PostgreSQL whose new connections fail at once while the breaker of their alias is open."""

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        """Return a new connection, or raise DatabaseUnavailableError without trying while the breaker is open."""
        breaker = self.breaker
        if breaker is None:
            return super().get_new_connection(conn_params)
        probing = breaker.before_attempt()
        try:
            if probing and self.pool is not None:
                self.probe(conn_params)
            connection = super().get_new_connection(conn_params)
        except BaseException:
            breaker.failed()
            raise
        breaker.succeeded()
        return connection

    def probe(self, conn_params: dict[str, Any]) -> None:
        """Connect once outside the pool, then start a fresh pool; raise if the database still refuses.

        Outside the pool, a refused connection fails in milliseconds instead of after the pool's timeout. A fresh
        pool, because the old one retries its connections with a growing backoff (1, 2, 4 s...) and could take as
        long again as the outage did to notice the database is back.
        """
        self.Database.connect(**conn_params).close()
        self.close_pool()

    @property
    def breaker(self) -> CircuitBreaker | None:
        """Return this alias's breaker, or None when it is turned off."""
        window = float(self.settings_dict.get("CIRCUIT_BREAKER_SECONDS", DEFAULT_WINDOW))
        return breaker_for(self.alias, window) if window > 0 else None
