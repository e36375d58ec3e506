"""Public cached reads answered before most of the middleware: a hit costs what a plain view's response costs.

``CachedReadMiddleware`` resolves the URL; when it names a ``CachedReadView`` whose method is public, it asks the view
for the cached entry and returns it at once. Sessions, CSRF, authentication and messages do nothing for such a read
(no cookie is read or set, no user is looked up), so the response is the one the view would have given, with the two
headers the skipped middleware add to it: ``Content-Length`` (``CommonMiddleware``) and ``X-Frame-Options``
(``XFrameOptionsMiddleware``).

Only a client without a session cookie is answered here: a signed-in user's read goes through sessions and
authentication as always (a session's expiry may be renewed, staff may be shown Server-Timing). A miss and every other
request go down the whole chain, and the view does not look a public miss up twice. Middleware that must see every
request, cached hits included, goes above this one in ``MIDDLEWARE`` (Silk and the debug toolbar do).
"""

from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.urls import Resolver404, resolve

from core.toolkit.views import CACHEABLE_METHODS, PUBLIC_MISS, CachedReadView

GetResponse = Callable[[HttpRequest], HttpResponseBase]
FRAME_OPTIONS_MIDDLEWARE = "django.middleware.clickjacking.XFrameOptionsMiddleware"
# Paths whose route is remembered (clients choose paths: the number, not the traffic, bounds the memory).
ROUTES_KEPT = 4096


class CachedReadMiddleware:
    """Answer a public read from the cache before the middleware below this one runs."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        middleware = list(settings.MIDDLEWARE)
        below = middleware[middleware.index(f"{__name__}.{type(self).__name__}") + 1 :]
        self.frames = XFrameOptionsMiddleware(get_response) if FRAME_OPTIONS_MIDDLEWARE in below else None

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        """Return the cached answer of an anonymous public read, or the rest of the chain's response."""
        if request.method in CACHEABLE_METHODS and not _has_session(request):
            answer = self._answer(request)
            if answer is not None:
                return answer
        return self.get_response(request)

    def _answer(self, request: HttpRequest) -> HttpResponseBase | None:
        """Return the cached answer of a read of a cached view, or None, noting a public miss for the view."""
        route = _route(getattr(request, "urlconf", None) or settings.ROOT_URLCONF, request.path_info)
        if route is None:
            return None
        kwargs = dict(route.kwargs)
        view = route.view_class(**route.initkwargs)
        view.setup(request, *route.args, **kwargs)
        answer = view.answer_from_cache(request, kwargs)
        if answer is None:
            if view.public_lookup is not None:
                request.__dict__[PUBLIC_MISS] = view.public_lookup
            return None
        if isinstance(answer, HttpResponse):
            if not answer.has_header("Content-Length"):
                answer.headers["Content-Length"] = str(len(answer.content))
            if self.frames is not None:
                answer = self.frames.process_response(request, answer)
        return answer


class _Route(NamedTuple):
    """A path's cached view, how to make it and the arguments the URL gives it."""

    view_class: type[CachedReadView]
    initkwargs: dict[str, Any]
    args: tuple[Any, ...]
    kwargs: tuple[tuple[str, Any], ...]


@lru_cache(maxsize=ROUTES_KEPT)
def _route(urlconf: str, path: str) -> _Route | None:
    """Return the cached view a path resolves to, or None; remembered, so other paths pay a lookup, not a resolve."""
    try:
        match = resolve(path, urlconf=urlconf)
    except Resolver404:
        return None
    view_class = getattr(match.func, "view_class", None)
    if not (isinstance(view_class, type) and issubclass(view_class, CachedReadView)):
        return None
    initkwargs = getattr(match.func, "view_initkwargs", {})
    return _Route(view_class, initkwargs, tuple(match.args), tuple(match.kwargs.items()))


def _has_session(request: HttpRequest) -> bool:
    """Return whether the request carries a session cookie (the common anonymous read sends no cookie at all)."""
    return "HTTP_COOKIE" in request.META and settings.SESSION_COOKIE_NAME in request.COOKIES
