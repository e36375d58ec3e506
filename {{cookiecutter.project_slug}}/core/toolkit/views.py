"""Slim base views for hot reads: public reads without DRF's per-request work, and cached rendered bytes.

``PublicReadView`` answers safe methods with no authentication, permission or throttle work and without content
negotiation; other methods on the same URL (a ``post`` beside a ``get``) keep the project's defaults. With
``settings.API_BROWSABLE`` (local development), a browser asking for HTML gets DRF's browsable API instead, built
afresh and never cached, so the debug toolbar shows the view's real queries.
``CachedReadMixin`` serves GET and HEAD from the cache: naming what a view shows is all it takes. A list names
the models whose rows it shows; a detail names the object its URL points to, and the models it shows besides::

    class ArticleListView(CachedReadMixin, PublicReadView):
        cache_models = (Article, Author, Tag, Comment)
        cache_query_params = ("cursor", "ordering", "page_size", "tag")

    class ArticleDetailView(CachedReadMixin, PublicReadView):
        cache_object = Article  # the URL's pk; its comments reach it through track_models(parents=...)
        cache_models = (Author, Tag)
"""

import hashlib
import logging
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import Throttled
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.permissions import SAFE_METHODS
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle
from rest_framework.views import APIView

from core.plumbing.exceptions import DATABASE_UNAVAILABLE
from core.toolkit.caching import (
    ENTRY_FORMAT,
    CachedResponse,
    ModelClass,
    Versions,
    is_tracked,
    lock_entry,
    object_keys,
    read_entry,
    store_entry,
    unlock_entry,
    version_key,
    wait_for_entry,
)
from core.toolkit.http import entry_response, repeated_parameter_response, stale_entry_response
from core.toolkit.renderers import ORJSONRenderer

CACHEABLE_METHODS = frozenset({"GET", "HEAD"})
# A 404 is cached too (briefly), so requests for ids that do not exist cannot all go to the database.
CACHEABLE_STATUSES = frozenset({200, 404})

logger = logging.getLogger(__name__)


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


class CacheMissThrottle(SimpleRateThrottle):
    """Budget each client's cache misses (``settings.API_CACHE_MISS_RATE``); hits are never counted.

    A miss runs queries and stores a new entry, so a client inventing URLs (``?page_size=`` values, unknown ids)
    is held to this rate, under the identity DRF's own throttles use (``NUM_PROXIES`` decides which address).
    """

    scope = "cache_miss"

    def get_rate(self) -> str | None:
        """Return the configured rate, or None for no budget."""
        rate: str | None = settings.API_CACHE_MISS_RATE
        return rate

    def get_cache_key(self, request: Request, view: APIView) -> str:
        """Return the client's counter key."""
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class _Miss:
    """A read that found no current entry: where to store the rebuilt one, and the outdated one kept for errors."""

    __slots__ = ("key", "locked", "stale", "store", "versions")

    def __init__(self, key: str, versions: Versions, stale: CachedResponse | None) -> None:
        self.key, self.versions, self.stale = key, versions, stale
        self.locked = self.store = False


class _CachedResponseReady(Exception):  # noqa: N818 - control flow, not an error
    """Raised from ``initial()`` to answer from the cache once the user is known or another rebuild has landed."""

    def __init__(self, response: HttpResponseBase) -> None:
        self.response = response


class CachedReadMixin(APIView):
    """Serve GET and HEAD from rendered bytes in the cache, rebuilt when something they show changes.

    Public views look the entry up before DRF does anything: a hit is one cache round trip, no query, no
    rendering. With ``cache_per_user`` the entry is looked up after authentication, under a key of the user's own,
    and marked private. A miss takes the rebuild lock (or waits for the process holding it) and counts against the
    client's miss budget; when the rebuild fails because the database is unavailable, an outdated entry still in
    the cache is served, marked stale.
    """

    #: Every model whose rows the response shows (lists, counts). Any committed change to them rebuilds it.
    cache_models: ClassVar[Sequence[ModelClass]] = ()
    #: The model of the one object the response shows, its primary key in the URL argument ``cache_object_kwarg``.
    #: Only changes to that row (or to rows naming it in ``track_models(parents=...)``) rebuild the response.
    cache_object: ClassVar[ModelClass | None] = None
    cache_object_kwarg: ClassVar[str] = "pk"
    #: The query parameters the view reads. Only these make a distinct entry; any other is ignored.
    cache_query_params: ClassVar[Sequence[str]] = ()
    #: The query parameters the view reads as lists (``?tag=a&tag=b``). Any other one given twice is a 400.
    cache_list_params: ClassVar[Sequence[str]] = ()
    #: Whether the response depends on the user (then it is cached per user and sent as private).
    cache_per_user: ClassVar[bool] = False
    #: Seconds an entry is current at most; ``settings.API_CACHE_TTL`` when None.
    cache_ttl: ClassVar[int | None] = None

    _miss: _Miss | None = None
    _key_prefix: ClassVar[str] = ""
    _key_params: ClassVar[tuple[str, ...]] = ()
    _single_params: ClassVar[tuple[str, ...]] = ()
    _model_keys: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse, at import time, a cached view that shows a model whose changes are not tracked."""
        super().__init_subclass__(**kwargs)
        cls._key_prefix = f"response:{ENTRY_FORMAT}:{cls.__module__}.{cls.__qualname__}:"
        cls._key_params = tuple(sorted({*cls.cache_query_params, *cls.cache_list_params}))
        cls._single_params = tuple(name for name in cls._key_params if name not in cls.cache_list_params)
        cls._model_keys = tuple(version_key(model) for model in cls.cache_models)
        shown = [*cls.cache_models, *([cls.cache_object] if cls.cache_object is not None else [])]
        untracked = list(dict.fromkeys(model.__name__ for model in shown if not is_tracked(model)))
        if untracked:
            names = ", ".join(untracked)
            raise ImproperlyConfigured(
                f"{cls.__name__} caches {names}, whose changes are not tracked: call "
                f"core.toolkit.caching.track_models({names}) next to the model."
            )

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """Return the cached response for a public read, else build it through DRF and cache it."""
        try:
            if request.method in CACHEABLE_METHODS:
                # Before any cache work: each repetition would otherwise be an entry of its own.
                repeated = next((name for name in self._single_params if len(request.GET.getlist(name)) > 1), None)
                if repeated is not None:
                    return repeated_parameter_response(repeated)
                if not self.cache_per_user and not wants_browsable_api(request):
                    hit = self._lookup(request, kwargs, scope="public")
                    if hit is not None:
                        return hit
            return super().dispatch(request, *args, **kwargs)
        finally:
            if self._miss is not None and self._miss.locked:
                unlock_entry(self._miss.key)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """Run DRF's checks; for a user-scoped read, answer from the cache; for a miss, claim the rebuild."""
        super().initial(request, *args, **kwargs)
        if request.method not in CACHEABLE_METHODS or wants_browsable_api(request):
            return
        if self.cache_per_user:
            hit = self._lookup(request, kwargs, scope=f"user:{request.user.pk}")
            if hit is not None:
                raise _CachedResponseReady(hit)
        if self._miss is not None:
            self._claim_rebuild(request, self._miss)

    # DRF hands any HttpResponseBase through handle_exception and finalize_response (finalize_response asserts
    # exactly that); its type stubs narrow both to Response.
    def handle_exception(self, exc: Exception) -> HttpResponseBase:  # type: ignore[override]
        """Return the cached response raised by ``initial()``, a stale entry if the database is down, else DRF's."""
        if isinstance(exc, _CachedResponseReady):
            return exc.response
        stale = self._miss.stale if self._miss is not None else None
        if isinstance(exc, DATABASE_UNAVAILABLE) and stale is not None:
            logger.warning("Database unavailable: serving a stale cache entry (%s)", exc)
            return stale_entry_response(stale)
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
        # Kept past its lifetime to be served if the database is down; a 404 is not worth keeping.
        stale_for = settings.API_CACHE_STALE_IF_ERROR
        if response.status_code != 200:
            ttl, stale_for = min(ttl, settings.API_CACHE_NOT_FOUND_TTL), 0
        content = response.render().content
        entry = store_entry(miss.key, miss.versions, response.status_code, content, ttl, stale_for=stale_for)
        return entry_response(request, entry, per_user=self.cache_per_user)

    def cache_key(self, request: HttpRequest, kwargs: dict[str, Any], scope: str) -> str:
        """Return the entry's key: this view, its URL arguments, its known query parameters, the scope."""
        query = request.GET
        params = [(name, query.getlist(name)) for name in self._key_params if name in query]
        digest = hashlib.blake2b(repr((sorted(kwargs.items()), params)).encode(), digest_size=16).hexdigest()
        return f"{self._key_prefix}{scope}:{digest}"

    def version_keys(self, kwargs: dict[str, Any]) -> list[str]:
        """Return the version keys the entry is checked against: its models', and its object's if it shows one."""
        if self.cache_object is None:
            return list(self._model_keys)
        return [*self._model_keys, *object_keys(self.cache_object, kwargs[self.cache_object_kwarg])]

    def _lookup(self, request: HttpRequest, kwargs: dict[str, Any], scope: str) -> HttpResponseBase | None:
        """Return the response for a current entry; on a miss, note where to store the rebuilt one and return None."""
        key = self.cache_key(request, kwargs, scope)
        entry, versions, stale = read_entry(key, self.version_keys(kwargs))
        if entry is not None:
            return entry_response(request, entry, per_user=self.cache_per_user)
        self._miss = _Miss(key, versions, stale)
        return None

    def _claim_rebuild(self, request: Request, miss: _Miss) -> None:
        """Take the rebuild lock, or wait for the process holding it; a rebuild counts against the client's budget."""
        locked = lock_entry(miss.key, settings.API_CACHE_LOCK_TIMEOUT)
        if locked is False:
            # Another process is rebuilding this entry: wait for it rather than run the same queries.
            entry = wait_for_entry(miss.key, miss.versions, settings.API_CACHE_LOCK_WAIT)
            if entry is not None:
                raise _CachedResponseReady(entry_response(request, entry, per_user=self.cache_per_user))
        miss.locked, miss.store = bool(locked), locked is not None
        budget = CacheMissThrottle()
        if not budget.allow_request(request, self):
            raise Throttled(budget.wait())
