"""``make test-pgbouncer``: the whole suite through a pgbouncer in transaction mode (``tests/pgbouncer/run.py``)."""
