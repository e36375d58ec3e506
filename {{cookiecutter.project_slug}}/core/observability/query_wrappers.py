"""Per-connection query wrappers: one installed on every database connection, once, for the life of the process."""

from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

QueryWrapper = Callable[[Callable[..., Any], str, Any, bool, dict[str, Any]], Any]


def wrap_every_connection(wrapper: QueryWrapper) -> None:
    """Install the wrapper on every open connection and on each connection opened from now on."""
    connection_created.connect(
        _installer(wrapper), dispatch_uid=f"{wrapper.__module__}.{wrapper.__qualname__}", weak=False
    )
    for connection in connections.all(initialized_only=True):
        install(connection, wrapper)


def install(connection: BaseDatabaseWrapper, wrapper: QueryWrapper) -> None:
    """Put the wrapper on the connection's ``execute_wrappers`` unless it is there already."""
    if wrapper not in connection.execute_wrappers:
        # First, not last: a connection opened inside ``with connection.execute_wrapper(...)`` must leave that block's
        # wrapper last, where the block's exit pops it.
        connection.execute_wrappers.insert(0, wrapper)


def _installer(wrapper: QueryWrapper) -> Callable[..., None]:
    """Return a ``connection_created`` receiver installing the wrapper."""

    def receiver(connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
        install(connection, wrapper)

    return receiver
