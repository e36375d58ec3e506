"""Django's PostgreSQL backend, with a circuit breaker around each new connection (see ``core.plumbing.db.breaker``).

The breaker's window is the ``CIRCUIT_BREAKER_SECONDS`` key of the ``DATABASES`` entry (default 2); 0 turns the
breaker off. Its ``POOLER`` key names what sits in front of the server: behind pgbouncer (transaction pooling) a
server-side cursor is opened only inside a transaction (``DatabaseWrapper.create_cursor``).
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

    def create_cursor(self, name: str | None = None) -> Any:
        """Return a cursor: server-side when named, except outside a transaction behind a transaction pooler."""
        if name and self.transaction_pooled and self.connection.autocommit:
            # Outside a transaction Django declares the cursor WITH HOLD, for FETCHes that pgbouncer may send to
            # another server connection, which does not have it. So it is a plain cursor, which reads the whole
            # result at once (as DISABLE_SERVER_SIDE_CURSORS would make every cursor); inside a transaction, which
            # keeps its server connection, it stays server-side (core.plumbing.db.cursors.server_cursor_transaction).
            name = None
        return super().create_cursor(name)

    @property
    def transaction_pooled(self) -> bool:
        """Return whether a pooler that hands out server connections per transaction sits in front of the server."""
        pooler: str = self.settings_dict.get("POOLER", "none")
        return pooler == "pgbouncer"

    @property
    def breaker(self) -> CircuitBreaker | None:
        """Return this alias's breaker, or None when it is turned off."""
        window = float(self.settings_dict.get("CIRCUIT_BREAKER_SECONDS", DEFAULT_WINDOW))
        return breaker_for(self.alias, window) if window > 0 else None
