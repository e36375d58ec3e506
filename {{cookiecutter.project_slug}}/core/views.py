"""Slim base views for hot reads: public reads without DRF's per-request work, and cached rendered bytes.

``PublicReadView`` answers safe methods with no authentication, permission or throttle work and without content
negotiation; other methods on the same URL (a ``post`` beside a ``get``) keep the project's defaults. With
``settings.API_BROWSABLE`` (local development), a browser asking for HTML gets DRF's browsable API instead, built
afresh and never cached, so the debug toolbar shows the view's real queries.
``CachedReadMixin`` serves GET and HEAD from the cache: naming the models a view reads is all it takes::

    class ArticleListView(CachedReadMixin, PublicReadView):
        cache_models = (Article, Author, Tag, Comment)
        cache_query_params = ("cursor", "ordering", "page_size", "tag")
"""

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase
from rest_framework.authentication import BaseAuthentication
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.permissions import SAFE_METHODS
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from core.caching import (
    ModelClass,
    Versions,
    is_tracked,
    lock_entry,
    read_entry,
    store_entry,
    unlock_entry,
    wait_for_entry,
)
from core.http import entry_response
from core.renderers import ORJSONRenderer

CACHEABLE_METHODS = frozenset({"GET", "HEAD"})
# A 404 is cached too (briefly), so requests for ids that do not exist cannot all go to the database.
CACHEABLE_STATUSES = frozenset({200, 404})


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """Answer with the view's first renderer whatever ``Accept`` says; request bodies are still parsed by type."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        """Return the first renderer and its media type."""
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class PublicReadView(APIView):
    """A view whose safe methods are public: no authentication, permissions or throttles, JSON only."""

    renderer_classes = [ORJSONRenderer]
    content_negotiation_class = JSONOnlyNegotiation

    def get_renderers(self) -> list[BaseRenderer]:
        """Return the JSON renderer, and the browsable API's when a browser asks for it."""
        renderers = super().get_renderers()
        return [*renderers, BrowsableAPIRenderer()] if wants_browsable_api(self.request) else renderers

    def get_content_negotiator(self) -> BaseContentNegotiation:
        """Return JSON-only negotiation, or DRF's own when a browser asks for the browsable API."""
        if wants_browsable_api(self.request):
            return DefaultContentNegotiation()
        return super().get_content_negotiator()

    def get_authenticators(self) -> list[BaseAuthentication]:
        """Return no authenticators for reads, the configured ones for writes."""
        return [] if self._is_read() else super().get_authenticators()

    def get_permissions(self) -> Sequence[Any]:
        """Return no permissions for reads, the configured ones for writes."""
        return [] if self._is_read() else super().get_permissions()

    def _is_read(self) -> bool:
        """Return whether the request is a read (GET, HEAD, OPTIONS)."""
        # None while drf-spectacular builds its mock requests, which reach get_authenticators() first.
        request: HttpRequest | None = getattr(self, "request", None)
        return request is not None and request.method in SAFE_METHODS

    def get_throttles(self) -> list[BaseThrottle]:
        """Return no throttles for reads, the configured ones for writes."""
        return [] if self._is_read() else super().get_throttles()


def wants_browsable_api(request: HttpRequest | None) -> bool:
    """Return whether the browsable API is on (settings.API_BROWSABLE) and the request asks for HTML."""
    return settings.API_BROWSABLE and request is not None and "text/html" in request.headers.get("Accept", "")


class _Miss:
    """A read that found no current entry: where to store the response, and whether this request holds the lock."""

    __slots__ = ("key", "locked", "store", "versions")

    def __init__(self, key: str, versions: Versions, *, locked: bool, store: bool) -> None:
        self.key, self.versions, self.locked, self.store = key, versions, locked, store


class _CachedResponseReady(Exception):  # noqa: N818 - control flow, not an error
    """Raised from ``initial()`` to answer a user-scoped read from the cache once the user is known."""

    def __init__(self, response: HttpResponseBase) -> None:
        self.response = response


class CachedReadMixin(APIView):
    """Serve GET and HEAD from rendered bytes in the cache, rebuilt when a model they read changes.

    Public views look the entry up before DRF does anything: a hit is one cache round trip, no query, no
    rendering. With ``cache_per_user`` the entry is looked up after authentication, under a key of the user's own,
    and marked private.
    """

    #: Every model whose rows the response shows. Their committed changes rebuild the response.
    cache_models: ClassVar[Sequence[ModelClass]] = ()
    #: The query parameters the view reads. Only these make a distinct entry; any other is ignored.
    cache_query_params: ClassVar[Sequence[str]] = ()
    #: Whether the response depends on the user (then it is cached per user and sent as private).
    cache_per_user: ClassVar[bool] = False
    #: Seconds an entry lives at most; ``settings.API_CACHE_TTL`` when None.
    cache_ttl: ClassVar[int | None] = None

    _miss: _Miss | None = None
    _key_prefix: ClassVar[str] = ""
    _key_params: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse, at import time, a cached view that reads a model whose changes are not tracked."""
        super().__init_subclass__(**kwargs)
        cls._key_prefix = f"response:{cls.__module__}.{cls.__qualname__}:"
        cls._key_params = tuple(sorted(cls.cache_query_params))
        untracked = [model.__name__ for model in cls.cache_models if not is_tracked(model)]
        if untracked:
            names = ", ".join(untracked)
            raise ImproperlyConfigured(
                f"{cls.__name__} caches {names}, whose changes are not tracked: call "
                f"core.caching.track_models({names}) next to the model."
            )

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """Return the cached response for a public read, else build it through DRF and cache it."""
        try:
            if request.method in CACHEABLE_METHODS and not self.cache_per_user and not wants_browsable_api(request):
                hit = self._lookup(request, kwargs, scope="public")
                if hit is not None:
                    return hit
            return super().dispatch(request, *args, **kwargs)
        finally:
            if self._miss is not None and self._miss.locked:
                unlock_entry(self._miss.key)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """Run DRF's checks; for a user-scoped read, then answer from the cache when it can."""
        super().initial(request, *args, **kwargs)
        if self.cache_per_user and request.method in CACHEABLE_METHODS and not wants_browsable_api(request):
            hit = self._lookup(request, kwargs, scope=f"user:{request.user.pk}")
            if hit is not None:
                raise _CachedResponseReady(hit)

    # DRF hands any HttpResponseBase through handle_exception and finalize_response (finalize_response asserts
    # exactly that); its type stubs narrow both to Response.
    def handle_exception(self, exc: Exception) -> HttpResponseBase:  # type: ignore[override]
        """Return the cached response raised by ``initial()``, else DRF's error response."""
        if isinstance(exc, _CachedResponseReady):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(  # type: ignore[override]
        self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        """Return DRF's response; after a miss, store its rendered bytes and answer with them."""
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[arg-type]
        miss = self._miss
        if miss is None or not miss.store or not isinstance(response, Response):
            return response
        if response.status_code not in CACHEABLE_STATUSES:
            return response
        ttl = self.cache_ttl or settings.API_CACHE_TTL
        if response.status_code != 200:
            ttl = min(ttl, settings.API_CACHE_NOT_FOUND_TTL)
        entry = store_entry(miss.key, miss.versions, response.status_code, response.render().content, ttl)
        return entry_response(request, entry, per_user=self.cache_per_user)

    def cache_key(self, request: HttpRequest, kwargs: dict[str, Any], scope: str) -> str:
        """Return the entry's key: this view, its URL arguments, its known query parameters, the scope."""
        query = request.GET
        params = [(name, query.getlist(name)) for name in self._key_params if name in query]
        digest = hashlib.blake2b(repr((sorted(kwargs.items()), params)).encode(), digest_size=16).hexdigest()
        return f"{self._key_prefix}{scope}:{digest}"

    def _lookup(self, request: HttpRequest, kwargs: dict[str, Any], scope: str) -> HttpResponseBase | None:
        """Return the response for a current entry; on a miss, note where to store the rebuilt one and return None."""
        key = self.cache_key(request, kwargs, scope)
        entry, versions = read_entry(key, self.cache_models)
        if entry is None:
            locked = lock_entry(key, settings.API_CACHE_LOCK_TIMEOUT)
            if locked is False:
                # Another process is rebuilding this entry: wait for it rather than run the same queries.
                entry = wait_for_entry(key, versions, settings.API_CACHE_LOCK_WAIT)
            if entry is None:
                self._miss = _Miss(key, versions, locked=bool(locked), store=locked is not None)
                return None
        return entry_response(request, entry, per_user=self.cache_per_user)
