"""HTTP caching for API reads: the response for a cache entry, with its ETag, Cache-Control and Vary headers."""

from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotModified, JsonResponse
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import parse_etags

from core.toolkit.caching import CachedResponse

JSON_CONTENT_TYPE = "application/json"
# A user-scoped response depends on who is asking, and only these request headers say who that is.
USER_VARY_HEADERS = ("Authorization", "Cookie")
# The attribute of a cached read's response that says how the cache answered it (the request log reports it): HIT, a
# current entry; MISS, rebuilt for this request; STALE, an outdated entry while the database is down. Others have none.
CACHE_OUTCOME = "cache_outcome"
HIT, MISS, STALE = "hit", "miss", "stale"


def mark_cache_outcome(response: HttpResponseBase, outcome: str) -> None:
    """Mark the response with how the cache answered it."""
    setattr(response, CACHE_OUTCOME, outcome)


def patch_public_cache_control(response: HttpResponseBase) -> None:
    """Let browsers and shared caches (nginx, Varnish, a CDN) keep a public read, as configured in settings."""
    response.headers["Cache-Control"] = _public_cache_control(
        settings.API_CACHE_MAX_AGE, settings.API_CACHE_S_MAXAGE, settings.API_CACHE_STALE_WHILE_REVALIDATE
    )


@cache
def _public_cache_control(max_age: int, s_maxage: int, stale_while_revalidate: int) -> str:
    """Return the public Cache-Control header value, built once per configuration rather than on every hit."""
    response = HttpResponse()
    patch_cache_control(
        response, public=True, max_age=max_age, s_maxage=s_maxage, stale_while_revalidate=stale_while_revalidate
    )
    return response.headers["Cache-Control"]


def patch_private_cache_control(response: HttpResponseBase) -> None:
    """Keep a user-scoped read out of shared caches and make the user's own client revalidate it."""
    patch_cache_control(response, private=True, no_cache=True)
    patch_vary_headers(response, USER_VARY_HEADERS)


def entry_response(request: HttpRequest, entry: CachedResponse, *, per_user: bool) -> HttpResponseBase:
    """Return the stored bytes as a plain response, or a 304 when the client's ``If-None-Match`` matches."""
    if entry.status == HttpResponse.status_code and _holds_entry(request, entry):
        return _cache_headers(HttpResponseNotModified(), entry, per_user=per_user)
    response = _cache_headers(
        HttpResponse(entry.body, status=entry.status, content_type=JSON_CONTENT_TYPE), entry, per_user=per_user
    )
    if not _has_etag_precondition(request):
        return response
    # RFC 9110 section 13.2.2 precondition evaluation, as Django implements it: a 2xx whose ETag the client
    # already holds becomes a 304 without a body.
    return get_conditional_response(request, etag=entry.etag, response=response) or response


def _cache_headers(response: HttpResponse, entry: CachedResponse, *, per_user: bool) -> HttpResponse:
    """Return the response with the entry's ETag and who may keep it for how long."""
    response.headers["ETag"] = entry.etag
    if per_user:
        patch_private_cache_control(response)
    elif entry.status == HttpResponse.status_code:
        patch_public_cache_control(response)
    else:
        # A cached 404 must not outlive the create that fills it: HTTP caches revalidate it every time.
        patch_cache_control(response, public=True, no_cache=True)
    return response


def _holds_entry(request: HttpRequest, entry: CachedResponse) -> bool:
    """Return whether the request's only precondition is an ``If-None-Match`` that lists the entry's ETag.

    RFC 9110 section 13.2.2 for that common case, without building the 200 first: a GET or HEAD whose
    ``If-None-Match`` matches (weak comparison, or ``*``) gets a 304. ``If-Match`` and ``If-Unmodified-Since`` take
    Django's full evaluation instead; ``If-Modified-Since`` is ignored next to ``If-None-Match`` (step 4).
    """
    meta = request.META
    if "HTTP_IF_NONE_MATCH" not in meta or "HTTP_IF_MATCH" in meta or "HTTP_IF_UNMODIFIED_SINCE" in meta:
        return False
    value = meta["HTTP_IF_NONE_MATCH"]
    if value == entry.etag:
        return True  # the common case, a client sending back the one ETag it holds: no parsing
    listed = parse_etags(value)
    return "*" in listed or entry.etag in {etag.removeprefix("W/") for etag in listed}


def stale_entry_response(entry: CachedResponse) -> HttpResponse:
    """Return an outdated entry's bytes, marked stale and kept out of every other cache.

    Served only when rebuilding the entry failed (the database is down): the last good answer beats an error.
    """
    response = HttpResponse(entry.body, status=entry.status, content_type=JSON_CONTENT_TYPE)
    mark_cache_outcome(response, STALE)
    # RFC 9211: the response comes from this server's cache, and it is not fresh.
    response.headers["Cache-Status"] = f"{settings.API_CACHE_NAME}; hit; detail=stale"
    # No ETag and no-store: nothing downstream may keep it or revalidate against it once the database is back.
    patch_cache_control(response, private=True, no_store=True)
    return response


def repeated_parameter_response(name: str) -> HttpResponse:
    """Return the 400 for a query parameter given more than once that the view reads once, in DRF's field shape."""
    return JsonResponse({name: ["Give this query parameter once."]}, status=400)


def _has_etag_precondition(request: HttpRequest) -> bool:
    """Return whether the request carries If-None-Match or If-Match, the only preconditions an ETag answers."""
    return "HTTP_IF_NONE_MATCH" in request.META or "HTTP_IF_MATCH" in request.META
