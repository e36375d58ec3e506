"""Server-Timing: where each request's time went, in a header every browser's developer tools show.

The parts are ``db`` (queries, through the connection's execute wrappers, the hook behind Django's
``connection.execute_wrapper()``), ``cache`` (calls to the cache backends),
``serialize`` (DRF serializers' ``.data``), ``render`` (response rendering), ``view`` (URL routing and the view's
own code) and ``other`` (middleware). Each moment counts once, under the innermost part running: a query that a
serializer triggers is ``db``, not ``serialize``. So the parts add up to ``total``.

Two middleware classes do it: ``ServerTimingMiddleware`` near the top of ``MIDDLEWARE`` and ``ViewTimingMiddleware``
last (it marks where the view starts and ends). The developer tools (Silk, the debug toolbar) sit outside them, so
the header shows the project's own cost, not the profilers'. ``settings.SERVER_TIMING`` says who gets
the header: ``"on"`` (everyone), ``"staff"`` (signed-in staff) or ``"off"``; off, both classes drop out of the
middleware chain and nothing is measured. ``settings.SERVER_TIMING_SAMPLE_RATE`` times only a share of requests.
"""

import random
from collections.abc import Callable
from contextvars import ContextVar
from functools import wraps
from time import perf_counter
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.http import HttpRequest, HttpResponseBase
from django.template.response import SimpleTemplateResponse
from django.utils.module_loading import import_string
from redis.client import Pipeline
from rest_framework import serializers

from core.observability.query_wrappers import wrap_every_connection
from core.toolkit.middleware import CachedReadMiddleware

MODES = ("on", "staff", "off")
PARTS = ("db", "cache", "serialize", "render", "view", "other")
# One format for the whole header: %-formatting is the cheapest way to build it on every response. No commas in the
# descriptions: simple parsers split the header on them.
HEADER = (
    'db;dur=%.3f;desc="%d %s", cache;dur=%.3f;desc="%d %s: %d %s / %d %s", serialize;dur=%.3f, render;dur=%.3f, '
    'view;dur=%.3f;desc="routing and view code", other;dur=%.3f;desc="middleware", total;dur=%.3f'
)
# The cache methods a request may spend time in; the rest of a backend's API is built on these.
CACHE_METHODS = (
    "get",
    "get_many",
    "set",
    "set_many",
    "add",
    "delete",
    "delete_many",
    "has_key",
    "incr",
    "decr",
    "touch",
)

GetResponse = Callable[[HttpRequest], HttpResponseBase]


class Timings:
    """The time one request spent in each part, charged to the innermost part running at each moment."""

    __slots__ = ("cache_hits", "cache_misses", "counts", "mark", "spent", "stack", "started")

    def __init__(self) -> None:
        self.started = self.mark = perf_counter()
        self.spent = dict.fromkeys(PARTS, 0.0)
        self.counts = {"db": 0, "cache": 0}
        self.cache_hits = self.cache_misses = 0
        self.stack = ["other"]

    def enter(self, part: str) -> None:
        """Stop the clock of the running part and start the clock of ``part`` inside it."""
        now = perf_counter()
        self.spent[self.stack[-1]] += now - self.mark
        self.stack.append(part)
        self.mark = now

    def leave(self) -> None:
        """Stop the clock of the innermost part and restart the one around it."""
        now = perf_counter()
        self.spent[self.stack.pop()] += now - self.mark
        self.mark = now

    def header(self) -> str:
        """Return the Server-Timing header value, in milliseconds; the parts add up to the total."""
        self.leave()  # the outermost part, "other"
        spent, queries, calls = self.spent, self.counts["db"], self.counts["cache"]
        hits, misses = self.cache_hits, self.cache_misses
        return HEADER % (
            spent["db"] * 1000,
            queries,
            "query" if queries == 1 else "queries",
            spent["cache"] * 1000,
            calls,
            "call" if calls == 1 else "calls",
            hits,
            "hit" if hits == 1 else "hits",
            misses,
            "miss" if misses == 1 else "misses",
            spent["serialize"] * 1000,
            spent["render"] * 1000,
            spent["view"] * 1000,
            spent["other"] * 1000,
            (self.mark - self.started) * 1000,
        )


_current: ContextVar[Timings | None] = ContextVar("server_timing", default=None)


class ServerTimingMiddleware:
    """Time the request and add its Server-Timing header; the total covers every middleware inside it."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.mode = timing_mode()
        self.sample_rate = float(settings.SERVER_TIMING_SAMPLE_RATE)
        instrument()
        # Each database connection gets the query timer once, when it opens, rather than on every request.
        wrap_every_connection(_time_query)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        """Return the response, with its timings when this request is timed."""
        # Sampling, not security: random is the right tool here.
        if self.sample_rate < 1.0 and random.random() >= self.sample_rate:  # noqa: S311
            return self.get_response(request)
        timings = Timings()
        token = _current.set(timings)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        header = timings.header()
        if self.mode == "on" or _is_staff(request):
            response.headers["Server-Timing"] = header
        return response


class ViewTimingMiddleware:
    """Mark the routing and the view as the ``view`` part; last in ``MIDDLEWARE``, so only they are inside it."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        timing_mode()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        """Return the view's response, its time charged to ``view``."""
        timings = _current.get()
        if timings is None:
            return self.get_response(request)
        timings.enter("view")
        try:
            return self.get_response(request)
        finally:
            timings.leave()


def timing_mode() -> str:
    """Return ``settings.SERVER_TIMING``; when it is off, take the calling middleware out of the chain."""
    mode = settings.SERVER_TIMING
    if mode not in MODES:
        raise ImproperlyConfigured(f"DJANGO_SERVER_TIMING is {mode!r}: use one of {', '.join(MODES)}.")
    if mode == "off":
        raise MiddlewareNotUsed
    return str(mode)


def _is_staff(request: HttpRequest) -> bool:
    """Return whether the request comes from a signed-in staff user (looked up only after timing stops)."""
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_staff)


def _time_query(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    """Run a query, charging its time to ``db``."""
    timings = _current.get()
    if timings is None:
        return execute(sql, params, many, context)
    timings.counts["db"] += 1
    timings.enter("db")
    try:
        return execute(sql, params, many, context)
    finally:
        timings.leave()


def instrument() -> None:
    """Wrap the cache backends' methods, serializers' ``.data`` and response rendering, once per process.

    Django has a hook for queries (``execute_wrapper``) but none for these, so the classes themselves are wrapped.
    Outside a timed request the wrappers only check a context variable.
    """
    backends = {import_string(config["BACKEND"]) for config in settings.CACHES.values()}
    for backend in backends:
        for name in CACHE_METHODS:
            _wrap(backend, name, _timed_cache_call)
    if any(backend.__module__.startswith("django_redis.") for backend in backends):
        # The toolkit sends some writes as one Redis pipeline (core.toolkit.caching.store_and_unlock): one call.
        _wrap(Pipeline, "execute", _timed_cache_call)
    # A public cached hit is answered by this middleware, ahead of ViewTimingMiddleware: its lookup is view work too.
    _wrap(CachedReadMiddleware, "_answer", _timed_call("view"))
    for serializer in (serializers.Serializer, serializers.ListSerializer):
        _wrap(serializer, "data", _timed_property("serialize"))
    _wrap(SimpleTemplateResponse, "render", _timed_call("render"))


def _wrap(owner: type, name: str, wrapper: Callable[[Any], Any]) -> None:
    """Replace ``owner.name`` by ``wrapper(original)``, unless it is already wrapped."""
    original = owner.__dict__.get(name) or getattr(owner, name)
    if getattr(_function_of(original), "server_timing", False):
        return
    wrapped = wrapper(original)
    _function_of(wrapped).server_timing = True
    setattr(owner, name, wrapped)


def _function_of(attribute: Any) -> Any:
    """Return the function behind a method or a property."""
    return attribute.fget if isinstance(attribute, property) else attribute


def _timed_call(part: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Return a wrapper that charges a method's time to ``part``."""

    def wrapper(method: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(method)
        def timed(*args: Any, **kwargs: Any) -> Any:
            timings = _current.get()
            if timings is None:
                return method(*args, **kwargs)
            timings.enter(part)
            try:
                return method(*args, **kwargs)
            finally:
                timings.leave()

        return timed

    return wrapper


def _timed_property(part: str) -> Callable[[property], property]:
    """Return a wrapper that charges a property's computation to ``part``."""

    def wrapper(prop: property) -> property:
        assert prop.fget is not None
        return property(_timed_call(part)(prop.fget))

    return wrapper


def _timed_cache_call(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a cache method: charge its time to ``cache``, count the call and, for reads, its hits and misses."""
    name = method.__name__

    @wraps(method)
    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        timings = _current.get()
        # A backend's get_many may loop over get(): count the outer call only.
        if timings is None or timings.stack[-1] == "cache":
            return method(self, *args, **kwargs)
        timings.counts["cache"] += 1
        timings.enter("cache")
        try:
            result = method(self, *args, **kwargs)
        finally:
            timings.leave()
        _count_hits(timings, name, args, kwargs, result)
        return result

    return timed


def _count_hits(timings: Timings, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> None:
    """Add a read's hits and misses to the request's counts."""
    if name == "get":
        default = args[1] if len(args) > 1 else kwargs.get("default")
        hit = result is not default
    elif name == "has_key":
        hit = bool(result)
    elif name == "get_many":
        keys = args[0] if args else kwargs.get("keys", ())
        # Keys given as an iterator are spent by now: count what came back.
        asked = len(keys) if hasattr(keys, "__len__") else len(result)
        timings.cache_hits += len(result)
        timings.cache_misses += asked - len(result)
        return
    else:
        return
    timings.cache_hits += hit
    timings.cache_misses += not hit
