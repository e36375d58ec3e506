"""Server-side cursors that work behind pgbouncer in transaction mode, for reads too big to hold in memory.

``QuerySet.iterator()`` reads its rows through a server-side cursor on PostgreSQL. Outside a transaction Django
declares it ``WITH HOLD``, and behind pgbouncer in transaction mode its FETCHes may then reach another server
connection, so there the backend opens a plain cursor instead, which reads the whole result at once
(``core.plumbing.db.base.DatabaseWrapper.create_cursor``). A read that must stay in constant memory iterates inside
``server_cursor_transaction()``: one transaction, which pgbouncer keeps on one server connection from its first
query to its end, and in which the cursor lives.
"""

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction


def server_cursor_transaction(using: str = DEFAULT_DB_ALIAS) -> AbstractContextManager[Any]:
    """Return the block to read a server-side cursor in: a transaction behind pgbouncer, else nothing.

    Without a pooler the cursor is declared ``WITH HOLD`` outside a transaction: PostgreSQL runs the query at once,
    keeps the result, and no transaction stays open while a slow client reads it. Behind pgbouncer the transaction
    (and a server connection) lasts as long as the read.
    """
    if not getattr(connections[using], "transaction_pooled", False):
        return nullcontext()
    # savepoint=False: inside a transaction already (a test's, a caller's), the read needs no savepoint of its own.
    return transaction.atomic(using=using, savepoint=False)
