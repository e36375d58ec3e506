"""Slim views for hot reads: declared public methods, JSON only, and GET served from cached rendered bytes.

A cached endpoint is a declaration. The query parameters it reads come from its ``filter_class`` and its
paginator, and nothing else reaches it; the models it shows are checked against the tables it reads::

    class ArticleListView(CachedListView):
        public_methods = ("GET",)
        serializer_class = ArticleRow  # the row shape: its values() query and its documented schema
        filter_class = ArticleFilters  # ?tag=, ?author=, validated; the paginator adds ?cursor=, ?ordering=...
        pagination_class = keyset({"-published_at": ("-published_at", "-id")})
        cache_models = (Article, Author, Tag, Comment)

        def get_rows(self, filters: Mapping[str, Any]) -> QuerySet[Article]:
            return Article.objects.filter(status="published", **filters)

    class ArticleDetailView(CachedDetailView):
        public_methods = ("GET",)
        serializer_class = ArticleDetailRow
        cache_object = Article  # the URL's pk; only that article's changes (and its children's) rebuild it
        cache_models = (Author, Tag)

The methods in ``public_methods`` run no authentication, permission or throttle; every other method gets the
project's defaults or the view's own ``permission_classes``, which therefore never apply to a public method.
With ``settings.API_BROWSABLE`` (local development) a browser asking for HTML gets DRF's browsable API, built
afresh and never cached, so the debug toolbar shows the view's real queries.
"""

import hashlib
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar, NamedTuple, TypeGuard
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponseBase, QueryDict
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import NotFound, Throttled
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.pagination import BasePagination
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from core.plumbing.db.read_your_writes import is_pinned
from core.plumbing.db.replicas import read_replica_first
from core.plumbing.exceptions import DATABASE_UNAVAILABLE
from core.plumbing.parsers import LIST_FIELDS, plain_values
from core.toolkit import edge
from core.toolkit.audit import report_unwatched, tables_read, unwatched_models, watched_models
from core.toolkit.browsable import BrowsableAPIRenderer
from core.toolkit.caching import (
    ENTRY_FORMAT,
    CachedResponse,
    Lookup,
    ModelClass,
    is_tracked,
    lock_entry,
    object_keys,
    read_entry,
    store_and_unlock,
    store_entry,
    surrogate_keys,
    unlock_entry,
    version_key,
    wait_for_entry,
    written_lsn,
)
from core.toolkit.dbjson import json_items
from core.toolkit.http import (
    HIT,
    MISS,
    entry_response,
    mark_cache_outcome,
    repeated_parameter_response,
    stale_entry_response,
)
from core.toolkit.pagination import KeysetPagination
from core.toolkit.renderers import ORJSONRenderer, dumps
from core.toolkit.rows import Row, RowDict

CACHEABLE_METHODS = frozenset({"GET", "HEAD"})
# Where CachedReadMiddleware leaves the lookup of a public read it could not answer, for the view's own use.
PUBLIC_MISS = "_cached_read_public_miss"
# The scope of an entry every client shares, and the prefix of one user's own entries (``cache_per_user``).
PUBLIC_SCOPE = "public"
USER_SCOPE = "user:"

logger = logging.getLogger(__name__)


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """Answer with the view's first renderer whatever ``Accept`` says; request bodies are still parsed by type."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        """Return the first renderer and its media type."""
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


def wants_browsable_api(request: HttpRequest | None) -> bool:
    """Return whether the browsable API is on (settings.API_BROWSABLE) and the request asks for HTML."""
    return settings.API_BROWSABLE and request is not None and "text/html" in request.headers.get("Accept", "")


class SlimView(GenericAPIView[Any]):
    """A JSON-only view whose ``public_methods`` skip authentication, permissions and throttles."""

    renderer_classes = [ORJSONRenderer]
    content_negotiation_class = JSONOnlyNegotiation
    #: The methods anyone may call with no credential checked: ``("GET",)`` for a public read (HEAD and
    #: OPTIONS follow GET). ``permission_classes``, authentication and throttles apply to the other methods only.
    public_methods: ClassVar[Collection[str]] = ()
    #: The serializer of the request body of POST, PUT and PATCH, when it differs from ``serializer_class``.
    write_serializer_class: ClassVar[type[serializers.BaseSerializer[Any]] | None] = None

    _public: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse, at import time, permission classes that would apply to no method of the view."""
        super().__init_subclass__(**kwargs)
        public = {method.upper() for method in cls.public_methods}
        if "GET" in public:
            public |= {"HEAD", "OPTIONS"}
        cls._public = frozenset(public)
        handled = {method.upper() for method in cls.http_method_names if method != "options" and hasattr(cls, method)}
        if "permission_classes" in cls.__dict__ and handled and handled <= cls._public:
            raise ImproperlyConfigured(
                f"{cls.__name__} sets permission_classes, but every method it has is in public_methods, "
                "where no permission applies: remove them, or take the methods they protect out of public_methods."
            )

    def is_public(self) -> bool:
        """Return whether the request's method is public on this view."""
        # None while drf-spectacular builds its mock requests, which reach get_authenticators() first.
        request: HttpRequest | None = getattr(self, "request", None)
        return request is not None and request.method in self._public

    def get_authenticators(self) -> list[BaseAuthentication]:
        """Return no authenticators for a public method, the configured ones otherwise and for the browsable API."""
        # The browsable API shows a signed-in user the write forms their permissions allow: it needs to know them.
        if self.is_public() and not wants_browsable_api(self.request):
            return []
        return super().get_authenticators()

    def get_permissions(self) -> Sequence[Any]:
        """Return no permissions for a public method, the configured ones otherwise."""
        return [] if self.is_public() else super().get_permissions()

    def get_throttles(self) -> list[BaseThrottle]:
        """Return no throttles for a public method, the configured ones otherwise."""
        return [] if self.is_public() else super().get_throttles()

    def get_renderers(self) -> list[BaseRenderer]:
        """Return the JSON renderer, and the browsable API's when a browser asks for it."""
        renderers = super().get_renderers()
        return [*renderers, BrowsableAPIRenderer()] if wants_browsable_api(self.request) else renderers

    def get_content_negotiator(self) -> BaseContentNegotiation:
        """Return JSON-only negotiation, or DRF's own when a browser asks for the browsable API."""
        if wants_browsable_api(self.request):
            return DefaultContentNegotiation()
        return super().get_content_negotiator()

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        """Return the write serializer for a request with a body, else the documented response shape."""
        method = getattr(self.request, "method", "GET")
        if method in {"POST", "PUT", "PATCH"} and self.write_serializer_class is not None:
            return self.write_serializer_class
        return super().get_serializer_class()


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

    def get_cache_key(self, request: Request, view: Any) -> str:
        """Return the client's counter key."""
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class CachedReadView(SlimView):
    """A view whose GET and HEAD are served from rendered bytes in the cache, rebuilt when what they show changes.

    Subclasses implement ``read()``, which returns the body. A public GET looks its entry up before DRF does
    anything: a hit is one cache round trip, no query, no rendering. Any other GET is looked up once DRF has
    authenticated and checked it, under a key of the user's own with ``cache_per_user`` (sent as private). A miss
    takes the rebuild lock (or waits for the process holding it) and counts against the client's miss budget;
    when the database cannot be reached, an outdated entry still in the cache is served, marked stale.
    """

    #: Every model whose rows the response shows (lists, counts). Any committed change to them rebuilds it.
    cache_models: ClassVar[Sequence[ModelClass]] = ()
    #: The model of the one object the response shows, its primary key in the URL argument ``cache_object_kwarg``.
    #: Only changes to that row (or to rows naming it in ``track_models(parents=...)``) rebuild the response.
    cache_object: ClassVar[ModelClass | None] = None
    cache_object_kwarg: ClassVar[str] = "pk"
    #: The query parameters, validated: only these reach the view and make a distinct entry.
    filter_class: ClassVar[type[serializers.Serializer[Any]] | None] = None
    #: Whether the response depends on the user (then it is cached per user and sent as private).
    cache_per_user: ClassVar[bool] = False
    #: Seconds an entry is current at most; ``settings.API_CACHE_TTL`` when None.
    cache_ttl: ClassVar[int | None] = None
    #: The message of a 404 (cached briefly), also the description of the documented 404.
    not_found: ClassVar[str] = "Not found."

    #: The paginator of a list: its query parameters join the key. None for a read of one object.
    pagination_class: type[BasePagination] | None = None
    #: What the public lookup in ``dispatch()`` found, for ``get()`` to use on a miss.
    public_lookup: Lookup | None = None
    _key_prefix: ClassVar[str] = ""
    _model_keys: ClassVar[tuple[str, ...]] = ()
    _query: ClassVar["_QueryPlan | None"] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse, at import time, a cached view that shows a model whose changes are not tracked."""
        super().__init_subclass__(**kwargs)
        cls._key_prefix = f"response:{ENTRY_FORMAT}:{cls.__module__}.{cls.__qualname__}:"
        cls._model_keys = tuple(version_key(model) for model in cls.cache_models)
        cls._query = None
        if cls.cache_per_user and "GET" in cls._public:
            raise ImproperlyConfigured(f"{cls.__name__} caches per user: its GET cannot be public.")
        shown = [*cls.cache_models, *([cls.cache_object] if cls.cache_object is not None else [])]
        untracked = list(dict.fromkeys(model.__name__ for model in shown if not is_tracked(model)))
        if untracked:
            names = ", ".join(untracked)
            raise ImproperlyConfigured(
                f"{cls.__name__} caches {names}, whose changes are not tracked: call "
                f"core.toolkit.caching.track_models({names}) next to the model."
            )

    def read(self, *args: Any, **kwargs: Any) -> Any:
        """Return the response body for the URL's arguments; raise NotFound for a cached 404."""
        raise NotImplementedError(f"{type(self).__name__} must implement read().")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """Return a public read's current entry at once; send everything else through DRF."""
        if request.method in CACHEABLE_METHODS:
            answer = self.answer_from_cache(request, kwargs)
            if answer is not None:
                return answer
        return super().dispatch(request, *args, **kwargs)

    def answer_from_cache(self, request: HttpRequest, kwargs: dict[str, Any]) -> HttpResponseBase | None:
        """Return a public read's current entry, or the 400 of a repeated parameter; None when the view must run.

        ``CachedReadMiddleware`` calls it before the middleware below it runs; a miss it saw is not looked up again.
        """
        missed: Lookup | None = request.__dict__.pop(PUBLIC_MISS, None)
        if missed is not None:
            self.public_lookup = missed
            return None
        refused = self._keep_known_parameters(request)
        if refused is not None:
            return refused
        if request.method in self._public and not wants_browsable_api(request):
            lookup = self._lookup(request, kwargs, scope=PUBLIC_SCOPE)
            if lookup.entry is not None:
                return self._respond(request, lookup.entry, kwargs, PUBLIC_SCOPE, HIT)
            self.public_lookup = lookup
        return None

    def get(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """Return the current entry, or build the body, store its bytes and answer with them."""
        if wants_browsable_api(request):
            return Response(self._audited_read(kwargs))
        scope = self._scope(request)
        lookup = self.public_lookup if self.public_lookup is not None else self._lookup(request, kwargs, scope)
        if lookup.entry is not None:
            return self._respond(request, lookup.entry, kwargs, scope, HIT)
        key = self.cache_key(request, kwargs, scope)
        locked = lock_entry(key, settings.API_CACHE_LOCK_TIMEOUT)
        try:
            if locked is False:
                # Another process is rebuilding this entry: wait for it rather than run the same queries.
                entry = wait_for_entry(key, lookup.versions, settings.API_CACHE_LOCK_WAIT)
                if entry is not None:
                    return self._respond(request, entry, kwargs, scope, HIT)
            self._spend_miss_budget(request)
            try:
                status, body = self._rebuild(request, kwargs, lookup)
            except DATABASE_UNAVAILABLE as exc:
                if lookup.stale is None:
                    raise
                logger.warning("Database unavailable: serving a stale cache entry (%s)", exc)
                return stale_entry_response(lookup.stale)
            # Stored as the lock goes, in the same round trip, so the readers waiting for it find it.
            entry = self._store(key, lookup, status, body, unlock=bool(locked))
            locked = False
            return self._respond(request, entry, kwargs, scope, MISS)
        finally:
            if locked:
                unlock_entry(key)

    def cache_key(self, request: HttpRequest, kwargs: dict[str, Any], scope: str) -> str:
        """Return the entry's key: this view, its URL arguments, its known query parameters, the scope."""
        query = request.GET
        params = [(name, query.getlist(name)) for name in self._query_plan().names if name in query]
        digest = hashlib.blake2b(repr((sorted(kwargs.items()), params)).encode(), digest_size=16).hexdigest()
        return f"{self._key_prefix}{scope}:{digest}"

    def version_keys(self, kwargs: dict[str, Any]) -> list[str]:
        """Return the version keys the entry is checked against: its models', and its object's if it shows one."""
        if self.cache_object is None:
            return list(self._model_keys)
        return [*self._model_keys, *object_keys(self.cache_object, kwargs[self.cache_object_kwarg])]

    def filters(self) -> dict[str, Any]:
        """Return the validated query parameters of ``filter_class``, or raise a 400 naming the bad ones."""
        if self.filter_class is None:
            return {}
        # An empty value is validated, not read as absent: ``?tag=`` is a 400 as the schema's minLength says.
        filters = self.filter_class(data=plain_values(self.request.query_params, self._query_plan().filters))
        filters.is_valid(raise_exception=True)
        return dict(filters.validated_data)

    def _respond(
        self, request: HttpRequest, entry: CachedResponse, kwargs: dict[str, Any], scope: str, outcome: str
    ) -> HttpResponseBase:
        """Return the entry's response, marked HIT or MISS; a public 200 also names its surrogate keys for the edge."""
        response = entry_response(request, entry, per_user=scope.startswith(USER_SCOPE))
        mark_cache_outcome(response, outcome)
        if scope == PUBLIC_SCOPE and entry.status == HTTPStatus.OK and edge.configured():
            edge.patch_edge_headers(response, surrogate_keys(self.version_keys(kwargs)))
        return response

    def _scope(self, request: Request) -> str:
        """Return whose entry this is: the public's, signed-in users' alike, or with ``cache_per_user`` the user's."""
        if self.cache_per_user:
            return f"{USER_SCOPE}{request.user.pk}"
        return PUBLIC_SCOPE if request.method in self._public else "members"

    def _lookup(self, request: HttpRequest, kwargs: dict[str, Any], scope: str) -> Lookup:
        """Return what the cache holds for this request: the current entry, the versions, a stale entry."""
        return read_entry(self.cache_key(request, kwargs, scope), self.version_keys(kwargs))

    def _rebuild(self, request: HttpRequest, kwargs: dict[str, Any], lookup: Lookup) -> tuple[int, bytes]:
        """Return ``_build()``'s answer, read from a replica that has replayed the writes of the lookup's versions.

        A request pinned to the primary (its client just wrote) reads the primary; so does every rebuild without
        replicas (core/plumbing/db/replicas.py).
        """
        if is_pinned(request):
            return self._build(kwargs)
        return read_replica_first(lambda: self._build(kwargs), replayed=written_lsn(lookup.versions))

    def _build(self, kwargs: dict[str, Any]) -> tuple[int, bytes]:
        """Return the status and rendered body of the rebuilt response: a 200, or a 404 to cache briefly."""
        try:
            return 200, dumps(self._audited_read(kwargs))
        except NotFound as exc:
            error = self.handle_exception(exc)
            return error.status_code, dumps(error.data)

    def _audited_read(self, kwargs: dict[str, Any]) -> Any:
        """Return ``read()``'s body; with ``settings.API_CACHE_AUDIT``, check the tables it read are watched."""
        if not settings.API_CACHE_AUDIT:
            return self.read(**kwargs)
        with tables_read() as tables:
            body = self.read(**kwargs)
        missing = unwatched_models(tables, watched_models(self.cache_models, self.cache_object))
        if missing:
            report_unwatched(type(self).__name__, missing, self.cache_models)
        return body

    def _store(self, key: str, lookup: Lookup, status: int, body: bytes, *, unlock: bool) -> CachedResponse:
        """Store the rebuilt bytes, releasing the rebuild lock with the same round trip when this process holds it."""
        ttl = self.cache_ttl or settings.API_CACHE_TTL
        # Kept past its lifetime to be served if the database is down; a 404 is not worth keeping.
        stale_for = settings.API_CACHE_STALE_IF_ERROR
        if status != 200:
            ttl, stale_for = min(ttl, settings.API_CACHE_NOT_FOUND_TTL), 0
        store = store_and_unlock if unlock else store_entry
        return store(key, lookup.versions, status, body, ttl, stale_for=stale_for)

    def _spend_miss_budget(self, request: Request) -> None:
        """Count a rebuild against the client's miss budget, or raise a 429 when it is spent."""
        budget = CacheMissThrottle()
        if not budget.allow_request(request, self):
            raise Throttled(budget.wait())

    def _keep_known_parameters(self, request: HttpRequest) -> HttpResponseBase | None:
        """Leave the request only the query parameters in the key; a 400 for one given twice that is read once."""
        plan = self._query_plan()
        query = request.GET
        repeated = next((n for n in plan.names if n not in plan.lists and len(query.getlist(n)) > 1), None)
        if repeated is not None:
            return repeated_parameter_response(repeated)
        if any(name not in plan.names for name in query):
            # The view cannot read what the cache key does not hold, so two URLs that differ only there may share
            # one entry.
            kept = [(name, value) for name in plan.names for value in query.getlist(name)]
            request.GET = QueryDict(urlencode(kept))
        return None

    @classmethod
    def _query_plan(cls) -> "_QueryPlan":
        """Return the query parameters the view reads (its filters', its paginator's) and those read as lists."""
        if cls._query is None:
            filters: dict[str, serializers.Field[Any, Any, Any, Any]] = (
                dict(cls.filter_class().fields) if cls.filter_class is not None else {}
            )
            paginator = cls.pagination_class() if cls.pagination_class is not None else None
            parameters: list[dict[str, Any]] = (
                paginator.get_schema_operation_parameters(cls()) if paginator is not None else []
            )
            pages: list[str] = [parameter["name"] for parameter in parameters]
            cls._query = _QueryPlan(
                # Sorted: the key must not depend on the process's string hashing, or workers would not share it.
                names=tuple(sorted({*filters, *pages})),
                lists=frozenset(name for name, field in filters.items() if isinstance(field, LIST_FIELDS)),
                filters=filters,
            )
        return cls._query


class _QueryPlan(NamedTuple):
    """The query parameters a cached view reads: all of them, those given as lists, and its filters' fields."""

    names: tuple[str, ...]
    lists: frozenset[str]
    filters: dict[str, serializers.Field[Any, Any, Any, Any]]


def _is_row(shape: object) -> TypeGuard[type[Row[Any]]]:
    """Return whether a serializer class is a Row."""
    return isinstance(shape, type) and issubclass(shape, Row)


class CachedRowsView(CachedReadView):
    """A cached read whose body is made of rows of the ``Row`` set as ``serializer_class``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse, at import time, a shape that is not a ``Row``: only a Row builds its rows in the database."""
        super().__init_subclass__(**kwargs)
        if cls.serializer_class is not None and not _is_row(cls.serializer_class):
            raise ImproperlyConfigured(f"{cls.__name__}.serializer_class must be a core.toolkit.rows.Row.")

    def row(self) -> type[Row[Any]]:
        """Return the row shape."""
        row = self.serializer_class
        if not _is_row(row):
            raise ImproperlyConfigured(f"{type(self).__name__} needs a serializer_class, a core.toolkit.rows.Row.")
        return row

    def get_queryset(self) -> QuerySet[Any]:
        """Return ``queryset``, or every row of the model the row shape declares."""
        if getattr(self, "queryset", None) is not None:
            return super().get_queryset()
        model: type[Model] = self.row().Meta.model
        return model._default_manager.all()


class CachedListView(CachedRowsView):
    """A cached list: the rows of ``get_rows()`` in the row shape, one page of ``pagination_class`` at a time.

    Where the database can (``Row.renders_json()``: PostgreSQL and SQLite, fields it writes as orjson does), it
    builds each row's JSON itself and Python only frames the page; elsewhere the rows come through ``values()``.
    """

    pagination_class = GenericAPIView.pagination_class
    #: Whether the database may build the rows' JSON; False keeps the values() path everywhere.
    json_in_database: ClassVar[bool] = True

    def get_rows(self, filters: Mapping[str, Any]) -> QuerySet[Any]:
        """Return the rows to list, filtered by the validated query parameters: ``get_queryset()`` by default."""
        return self.get_queryset()

    def read(self, **kwargs: Any) -> Any:
        """Return one page of rows in their documented shape, or every row without a paginator."""
        row = self.row()
        rows = self.get_rows(self.filters())
        if self.json_in_database and row.renders_json(rows):
            paginator = self.paginator
            columns = paginator.columns() if isinstance(paginator, KeysetPagination) else ()
            return self._page(row.select_json(rows, *columns), json_items)
        return self._page(row.select(rows), row.complete)

    def _page(self, rows: QuerySet[Any, RowDict], shape: Callable[[list[RowDict]], list[Any]]) -> Any:
        """Return the page of rows the request asks for (every row without a paginator), each made an item."""
        paginator = self.paginator
        if paginator is None:
            return shape(list(rows))
        page = paginator.paginate_queryset(rows, self.request, view=self)
        return paginator.get_paginated_response(shape(list(page or []))).data

    def get_serializer(self, *args: Any, **kwargs: Any) -> serializers.BaseSerializer[Any]:
        """Return the row shape as a list for a read, as the schema documents a list's response."""
        if getattr(self.request, "method", "GET") in CACHEABLE_METHODS:
            kwargs.setdefault("many", True)
        return super().get_serializer(*args, **kwargs)


class CachedDetailView(CachedRowsView):
    """A cached object: the row with the URL's primary key, in the row shape; a cached 404 when there is none."""

    def read(self, **kwargs: Any) -> Any:
        """Return the object's row, or raise a 404."""
        row = self.row().first(self.get_queryset().filter(pk=kwargs[self.cache_object_kwarg]))
        if row is None:
            raise NotFound(self.not_found)
        return row
