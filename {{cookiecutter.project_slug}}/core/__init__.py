"""The project's own app, in three parts that never import the ``api`` app.

- ``core.toolkit``: fast, cached, documented reads (views, row shapes, caching, HTTP caching, pagination, schema).
  It depends on Django, DRF, drf-spectacular, django-redis and orjson, and on nothing else of the project but
  ``core.plumbing.exceptions``' definition of an unreachable database: copy both into another project.
- ``core.plumbing``: what runs the project (URLs, WSGI/ASGI, health, errors, parsers, security headers, static
  files, throttles, the database backend with its circuit breaker).
- ``core.observability``: what measures it (Server-Timing, Silk, log filters).

Beside them, ``core.celery`` is the Celery app (``celery -A core worker``) and ``core.tasks`` the core app's tasks.
"""
