"""The benchmark server's WSGI application: the project's, with misses on request, and /bench/wsgi/ answered bare.

A request carrying ``X-Bench-Miss: 1`` misses every cached view (``tests.perf.misses``).
"""

import os
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache

from core.plumbing.wsgi import application as project_application
from tests.perf.misses import StartResponse, with_misses
from tests.perf.stages import RAW_KEY

bench_application = with_misses(project_application)


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Return the stored page for /bench/wsgi/ (stage 9, no Django request handling), else the project's answer."""
    if environ.get("PATH_INFO") != "/bench/wsgi/":
        return bench_application(environ, start_response)
    body: bytes = cache.get(RAW_KEY) or b""
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def application_with_worker(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Return ``application``'s answer naming the worker process that gave it (for ``make bench-local``)."""

    def start_with_worker(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
        return start_response(status, [*headers, ("X-Bench-Worker", str(os.getpid()))], *args)

    return application(environ, start_with_worker)
