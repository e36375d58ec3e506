"""Read replicas: the rebuild of a cached read may run on a replica, once that replica has replayed what it must show.

With ``DATABASE_REPLICA_URLS`` (settings/base.py ``replica_databases``) the project has the aliases ``replica_1``,
``replica_2``... beside ``default``, the primary. Only one kind of read goes to them: the rebuild of a cached response
after a miss (``CachedReadView``), when the request is not pinned to the primary (``read_your_writes``). Writes,
transactions, authentication, the admin, exports, tasks and every other read use the primary.

- **The guard.** Each version a bump writes carries the primary's WAL position just after the write
  (``core.toolkit.caching``); a rebuild reads a replica only if it has replayed at least the highest position among
  the versions the entry is built for (``replica_for``), else the primary. Each process remembers the last position
  seen per replica (positions only grow), so a replica is asked (one small query) only when a write newer than that
  is involved; otherwise choosing it costs nothing.
- **A replica that fails** (refused or timed-out connection, its circuit breaker open, an error during the rebuild)
  is skipped for ``DB_REPLICA_RETRY_SECONDS``; the rebuild runs again on the primary, so the reader gets no 5xx.
- **A replica that hangs** (a frozen host or process: its kernel still acknowledges what is sent, so neither libpq nor
  TCP ever gives up) has its connection cut after ``DB_REPLICA_TIMEOUT`` seconds (``_deadline``), which fails the
  rebuild as above. That is also why a replica's pool checks no connection before handing it out
  (settings/base.py): the check would wait as long, out of reach.
"""

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger(__name__)

T = TypeVar("T")

REPLICA_PREFIX = "replica_"
# The primary's position after everything written so far: the insert position, not pg_current_wal_lsn() (the write
# position), which can lag a commit made with synchronous_commit=off.
PRIMARY_LSN_SQL = "SELECT pg_current_wal_insert_lsn() - '0/0'"
# What a replica has replayed; a server that is not in recovery (a promoted replica) has everything it wrote.
REPLAYED_LSN_SQL = (
    "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END - '0/0'"
)
# What a replica error means for the rebuild: the replica cannot serve it now, the primary can.
REPLICA_FAILURES = (OperationalError, InterfaceError)

# The replica the current rebuild reads, for the router; None everywhere else.
_reading_from: ContextVar[str | None] = ContextVar("replica_reading_from", default=None)


@dataclass
class _ReplicaState:
    """What this process knows of one replica: the highest position it has replayed, and until when it is skipped."""

    # -1 until the replica is first asked: even a rebuild that needs no position asks once, so a process learns
    # that the replica answers before it sends it a rebuild.
    replayed: int = -1
    skipped_until: float = 0.0


_states: dict[str, _ReplicaState] = {}
_states_lock = threading.Lock()


def replica_aliases() -> list[str]:
    """Return the database aliases of the replicas, in the order of ``DATABASE_REPLICA_URLS``."""
    return [alias for alias in settings.DATABASES if alias.startswith(REPLICA_PREFIX)]


def configured() -> bool:
    """Return whether any replica is configured."""
    return any(alias.startswith(REPLICA_PREFIX) for alias in settings.DATABASES)


class ReplicaRouter:
    """Send the reads of the current rebuild to its replica, and everything else to the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        """Return the current rebuild's replica; None (the primary) outside a rebuild and inside any transaction."""
        alias = _reading_from.get()
        if alias is None or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return None
        return alias

    def db_for_write(self, model: Any, **hints: Any) -> str:
        """Return the primary."""
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        """Return True: a replica holds the primary's rows."""
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        """Return whether ``db`` is the primary: a replica replays the primary's schema."""
        return db == DEFAULT_DB_ALIAS


def primary_lsn() -> int:
    """Return the primary's WAL position in bytes; 0 without replicas, with no query. DatabaseError if unreadable."""
    if not configured():
        return 0
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(PRIMARY_LSN_SQL)
        return int(cursor.fetchone()[0])


def read_replica_first(read: Callable[[], T], *, replayed: int) -> T:
    """Return ``read()`` run on a replica that has replayed position ``replayed``, else on the primary.

    A replica error during the read skips that replica and runs ``read()`` again on the primary.
    """
    alias = replica_for(replayed)
    if alias is None:
        return read()
    token = _reading_from.set(alias)
    try:
        with _deadline(alias):
            return read()
    except REPLICA_FAILURES:
        logger.warning("Replica %r failed during a rebuild; reading the primary", alias, exc_info=True)
        _skip(alias)
    finally:
        _reading_from.reset(token)
    return read()


def replica_for(replayed: int) -> str | None:
    """Return a replica not skipped that has replayed position ``replayed``, asking it only when needed; else None."""
    aliases = replica_aliases()
    # From a random one, so the processes spread their rebuilds over the replicas.
    start = random.randrange(len(aliases)) if aliases else 0  # noqa: S311 - load spreading, not security
    now = time.monotonic()
    for alias in aliases[start:] + aliases[:start]:
        state = _state(alias)
        if state.skipped_until > now:
            continue
        if state.replayed >= replayed or _ask_replayed(alias) >= replayed:
            return alias
    return None


def _ask_replayed(alias: str) -> int:
    """Return the position the replica has replayed now (remembered), or -1 when it cannot say (it is skipped)."""
    try:
        with _deadline(alias), connections[alias].cursor() as cursor:
            cursor.execute(REPLAYED_LSN_SQL)
            row = cursor.fetchone()
    except DatabaseError:
        logger.warning("Replica %r did not answer; reading the primary", alias, exc_info=True)
        _skip(alias)
        return -1
    if row is None or row[0] is None:
        return -1
    position = int(row[0])
    with _states_lock:
        state = _state(alias)
        state.replayed = max(state.replayed, position)
    return position


@contextmanager
def _deadline(alias: str) -> Iterator[None]:
    """Cut the replica's connection if the block is still running after ``DB_REPLICA_TIMEOUT`` seconds."""
    cutter = _Cutter(connections[alias])
    # A timer thread per use of a replica (some tens of microseconds): only a rebuild on a replica pays it.
    timer = threading.Timer(settings.DB_REPLICA_TIMEOUT, cutter.cut)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        cutter.finish()
        timer.cancel()


class _Cutter:
    """Shut down the socket of a database connection from another thread, unless its work finished first."""

    def __init__(self, wrapper: BaseDatabaseWrapper) -> None:
        self.wrapper = wrapper
        self.lock = threading.Lock()
        self.finished = False

    def cut(self) -> None:
        """Shut the connection's socket down: the query waiting on it fails at once, as if the server had closed it."""
        with self.lock:
            raw = None if self.finished else self.wrapper.connection
            if raw is None:
                return
            logger.warning("Replica %r did not answer in time; cutting its connection", self.wrapper.alias)
            # A duplicate of the descriptor: shutdown() acts on the socket both share, close() only on the duplicate.
            with suppress(OSError), socket.socket(fileno=os.dup(raw.fileno())) as duplicate:
                duplicate.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        """Note that the work is done: a timer firing from now on cuts nothing."""
        with self.lock:
            self.finished = True


def _skip(alias: str) -> None:
    """Skip the replica for ``DB_REPLICA_RETRY_SECONDS`` and drop its connection, so nothing else uses it broken."""
    with _states_lock:
        _state(alias).skipped_until = time.monotonic() + settings.DB_REPLICA_RETRY_SECONDS
    # A connection in error would fail the next query of this request or the next; closed, the pool discards it.
    with suppress(DatabaseError):
        connections[alias].close()


def _state(alias: str) -> _ReplicaState:
    """Return what this process knows of the replica."""
    state = _states.get(alias)
    if state is None:
        state = _states.setdefault(alias, _ReplicaState())
    return state


def replica_states() -> dict[str, str]:
    """Return each replica's state as this process knows it: "ok", or "skipped" after a failure."""
    now = time.monotonic()
    return {alias: "skipped" if _state(alias).skipped_until > now else "ok" for alias in replica_aliases()}


def forget_replicas() -> None:
    """Forget what this process knows of the replicas: positions seen and skips (tests)."""
    with _states_lock:
        _states.clear()
