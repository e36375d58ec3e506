"""Bench only: a request carrying ``X-Bench-Miss: 1`` through ``with_misses`` gets cache keys of its own, so it misses.

``make bench URLS=...`` loads each URL once with the header to measure a real miss of any cached view (look up,
lock, build, store, unlock, as the first request after a write pays), without knowing the view. Only the
benchmark's WSGI application (``tests/perf/wsgi.py``) wraps the project with it; the production entry point,
``core/plumbing/wsgi.py``, never imports ``tests/``. Even in a process where it is installed, a request that did
not come through ``with_misses`` (the project's own application, the test client) keeps its usual key.
"""

import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest

from core.toolkit.views import CachedReadView

MISS_HEADER = "X-Bench-Miss"
# The key suffix of the entries misses store: nothing reads them again, so the runner deletes them by it.
MISS_MARK = ":bench-miss:"

StartResponse = Callable[..., Any]
WSGIApplication = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# The suffix of the current request's keys: one per request, so its lookup, lock and store share one key.
_suffix: ContextVar[str | None] = ContextVar("bench_miss_suffix", default=None)
_installed = False


def with_misses(application: WSGIApplication) -> WSGIApplication:
    """Return the application, where a request carrying ``X-Bench-Miss: 1`` misses every cached view's entry."""
    _install()

    def bench_application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("HTTP_X_BENCH_MISS") != "1":
            return application(environ, start_response)
        token = _suffix.set(f"{MISS_MARK}{uuid.uuid4().hex}")
        try:
            return application(environ, start_response)
        finally:
            _suffix.reset(token)

    return bench_application


def forget_misses() -> None:
    """Delete the entries misses stored, where the cache can find keys by pattern (Redis); the file cache culls."""
    delete_pattern = getattr(cache, "delete_pattern", None)
    if delete_pattern is not None:
        delete_pattern(f"*{MISS_MARK}*")


def _install() -> None:
    """Wrap ``CachedReadView.cache_key`` once per process, to append the current request's miss suffix if any."""
    global _installed
    if _installed:
        return
    original = CachedReadView.cache_key

    def cache_key(view: CachedReadView, request: HttpRequest, kwargs: dict[str, Any], scope: str) -> str:
        return original(view, request, kwargs, scope) + (_suffix.get() or "")

    # The view has no hook for this, and the bench must not need one in the project: wrap the method itself.
    CachedReadView.cache_key = cache_key  # type: ignore[method-assign,assignment]
    _installed = True
