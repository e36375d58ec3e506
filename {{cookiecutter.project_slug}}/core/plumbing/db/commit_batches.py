"""Commit hooks that merge: many calls in one transaction, one call of the callback with all their keys at commit.

A write that saves a row and replaces its many-to-many links asks three times for cache versions to be bumped (for
the row, the links removed, the links added), and each bump is a round trip to the cache and a query on the primary.
``on_commit_merged`` registers a hook for each ask, and when the transaction's last hook is the batch of the ask
before, under the same savepoints, the new hook takes that batch's keys along and leaves it empty: at commit only the
last one calls back. A rolled-back
savepoint then discards exactly the keys asked for inside it, as Django discards the hooks registered inside it;
hooks keep their order, since a hook registered in between starts a new batch; and a test that runs the hooks of a
block (``captureOnCommitCallbacks``) runs its asks with the ones before. Outside a transaction the callback runs at
once, as ``transaction.on_commit`` does.
"""

from collections.abc import Callable, Collection, Iterable
from typing import Any

from django.db import transaction


class _Batch:
    """A commit hook calling ``callback`` once with every key merged into it."""

    def __init__(self, callback: Callable[[frozenset[str]], object], keys: Collection[str]) -> None:
        self.callback = callback
        self.keys = set(keys)

    def __call__(self) -> None:
        if self.keys:
            self.callback(frozenset(self.keys))

    def __repr__(self) -> str:
        # What Django's log names when the hook raises.
        return f"{getattr(self.callback, '__qualname__', self.callback)} of {len(self.keys)} keys"


def on_commit_merged(
    callback: Callable[[frozenset[str]], object], keys: Collection[str], *, using: str | None = None
) -> None:
    """Call ``callback`` with these keys when the transaction commits, in one call with the asks just before."""
    connection = transaction.get_connection(using)
    merged = set(keys)
    if connection.in_atomic_block and (previous := _open_batch(connection, callback)) is not None:
        merged |= previous.keys
        # Emptied, not removed: a test capturing the hooks registered from some point on counts the list's length.
        previous.keys.clear()
    # robust: whatever the callback still raises after the commit is logged, never a 500 for a committed write.
    transaction.on_commit(_Batch(callback, merged), using=using, robust=True)


def _open_batch(connection: Any, callback: Callable[[frozenset[str]], object]) -> _Batch | None:
    """Return the transaction's last hook when it is a batch of ``callback`` under the savepoints open now."""
    if not connection.run_on_commit:
        return None
    savepoints, hook, _robust = connection.run_on_commit[-1]
    # ==, not is: a bound method is a new object each time it is read, and equal when it binds the same.
    if isinstance(hook, _Batch) and hook.callback == callback and _real(savepoints) == _real(connection.savepoint_ids):
        return hook
    return None


def _real(savepoint_ids: Iterable[str | None]) -> set[str]:
    """Return the savepoints that can be rolled back on their own."""
    # atomic(savepoint=False), as in a many-to-many set(), marks its block with None: a failure inside it rolls back
    # the savepoint or transaction around it, which is already in the set.
    return {savepoint for savepoint in savepoint_ids if savepoint is not None}
