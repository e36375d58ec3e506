"""The PostgreSQL backend of the project: Django's, with a circuit breaker in front of new connections.

Named as the ENGINE of a PostgreSQL ``DATABASES`` entry (``"ENGINE": "core.plumbing.db"``); see
``core.plumbing.db.base``.
"""
