"""The benchmark server's WSGI application: the project's, behind a bare WSGI callable answering /bench/wsgi/."""

from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache import cache

from core.plumbing.wsgi import application as project_application
from tests.perf.stages import RAW_KEY

StartResponse = Callable[..., Any]


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Return the stored page for /bench/wsgi/ (stage 9, no Django request handling), else the project's answer."""
    if environ.get("PATH_INFO") != "/bench/wsgi/":
        return project_application(environ, start_response)
    body: bytes = cache.get(RAW_KEY) or b""
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
