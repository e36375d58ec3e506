"""Refresh-ahead: after a bump lands, rebuild the first page of each public list that shows the bumped model.

A write makes every cached response of its models outdated, so the next reader of each pays a miss. The hottest of
them, the first page of each public ``CachedListView`` under its default parameters (no query string, anonymous),
are rebuilt right after the bump instead, so the next reader gets a hit.

- **Which lists**: the URLconf is walked once per process (``refreshable_lists``) for public ``CachedListView``
  routes without URL arguments, each under the model versions it reads.
- **How**: a GET of the list's path through the view itself (``refresh``), exactly as a reader's miss: under the
  new versions, taking the same rebuild lock, so a refresh racing a reader's miss builds the page once. The GET counts
  against the miss budget (``settings.API_CACHE_MISS_RATE``) of a client of its own, ``REFRESH_CLIENT``.
- **Coalesced**: a list is claimed (``claim``) before its refresh is sent, and the claim is released when the refresh
  starts, so the writes that land while a refresh waits in the queue ask for no other.
"""

from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from typing import Any

from django.conf import settings
from django.core.cache import cache as shared_cache
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern

from core.toolkit.http import CACHE_OUTCOME
from core.toolkit.views import CachedListView

CLAIM_PREFIX = "refresh-ahead:"
# A claim whose refresh was lost (its worker died before starting it) expires after this many seconds.
CLAIM_SECONDS = 30
# The identity a refresh's rebuilds count under in the miss budget (REMOTE_ADDR: no client can send it).
REFRESH_CLIENT = "refresh-ahead"


@cache
def refreshable_lists(urlconf: str) -> dict[str, tuple[str, ...]]:
    """Return, for each model version key, the paths of the public lists without URL arguments that read it."""
    paths: dict[str, list[str]] = {}
    for path, callback in _routes(get_resolver(urlconf).url_patterns, ""):
        view: Any = getattr(callback, "view_class", None)
        if isinstance(view, type) and issubclass(view, CachedListView) and _refreshable(view):
            for key in view._model_keys:
                paths.setdefault(key, []).append(path)
    return {key: tuple(dict.fromkeys(found)) for key, found in paths.items()}


def _refreshable(view: type[CachedListView]) -> bool:
    """Return whether anyone may read the list with no credential, the same entry for all (what a refresh builds)."""
    return "GET" in view._public and not view.cache_per_user and view.cache_object is None


def _routes(patterns: Sequence[URLPattern | URLResolver], prefix: str) -> Iterator[tuple[str, Any]]:
    """Yield the path and view of every route made only of plain path segments (no converter, no regex)."""
    for entry in patterns:
        pattern = entry.pattern
        if not isinstance(pattern, RoutePattern) or pattern.converters:
            continue
        route = prefix + str(pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, route)
        else:
            yield "/" + route, entry.callback


def lists_to_refresh(keys: Iterable[str]) -> list[str]:
    """Return the paths of the refreshable lists that read any of these version keys."""
    by_key = refreshable_lists(settings.ROOT_URLCONF)
    return list(dict.fromkeys(path for key in keys for path in by_key.get(key, ())))


def claim(paths: Iterable[str]) -> list[str]:
    """Return the paths whose refresh this process may send: those no refresh waits for already."""
    # Race: two processes claiming one path at once both ask add(); the cache keeps one, and only its caller sends.
    return [path for path in paths if shared_cache.add(CLAIM_PREFIX + path, 1, timeout=CLAIM_SECONDS)]


def release(paths: Iterable[str]) -> None:
    """Release the claims of these paths: a write landing from now on asks for another refresh."""
    shared_cache.delete_many([CLAIM_PREFIX + path for path in paths])


def refresh(path: str) -> str:
    """Rebuild a list's first page as a reader's miss would; return the cache's outcome (hit, miss) or the status."""
    request = RequestFactory().get(path, REMOTE_ADDR=REFRESH_CLIENT)
    match = resolve(path, urlconf=settings.ROOT_URLCONF)
    response = match.func(request, *match.args, **match.kwargs)
    outcome: str = getattr(response, CACHE_OUTCOME, None) or str(response.status_code)
    return outcome
