"""HTTP caching for API reads: the response for a cache entry, with its ETag, Cache-Control and Vary headers."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers

from core.caching import CachedResponse

JSON_CONTENT_TYPE = "application/json"
# A user-scoped response depends on who is asking, and only these request headers say who that is.
USER_VARY_HEADERS = ("Authorization", "Cookie")


def patch_public_cache_control(response: HttpResponseBase) -> None:
    """Let browsers and shared caches (nginx, Varnish, a CDN) keep a public read, as configured in settings."""
    patch_cache_control(
        response,
        public=True,
        max_age=settings.API_CACHE_MAX_AGE,
        s_maxage=settings.API_CACHE_S_MAXAGE,
        stale_while_revalidate=settings.API_CACHE_STALE_WHILE_REVALIDATE,
    )


def patch_private_cache_control(response: HttpResponseBase) -> None:
    """Keep a user-scoped read out of shared caches and make the user's own client revalidate it."""
    patch_cache_control(response, private=True, no_cache=True)
    patch_vary_headers(response, USER_VARY_HEADERS)


def entry_response(request: HttpRequest, entry: CachedResponse, *, per_user: bool) -> HttpResponseBase:
    """Return the stored bytes as a plain response, or a 304 when the client's ``If-None-Match`` matches."""
    response = HttpResponse(entry.body, status=entry.status, content_type=JSON_CONTENT_TYPE)
    response.headers["ETag"] = entry.etag
    if per_user:
        patch_private_cache_control(response)
    elif entry.status == HttpResponse.status_code:
        patch_public_cache_control(response)
    else:
        # A cached 404 must not outlive the create that fills it: HTTP caches revalidate it every time.
        patch_cache_control(response, public=True, no_cache=True)
    # RFC 9110 section 13.2.2 precondition evaluation, as Django implements it: a 2xx whose ETag the client
    # already holds becomes a 304 without a body.
    return get_conditional_response(request, etag=entry.etag, response=response) or response
