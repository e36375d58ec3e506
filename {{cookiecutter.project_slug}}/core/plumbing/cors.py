"""Cross-origin calls of the API from browsers (CORS), with django-cors-headers; off unless origins are named.

``DJANGO_CORS_ALLOWED_ORIGINS`` lists the sites whose pages may call ``/api/`` (``https://app.example.com``), or is
``*`` for a public API any site may read. Empty (the default), neither the app nor the middleware is installed.

The middleware goes above ``CachedReadMiddleware``, so a cached hit, and its 304, get the headers too: they are added
to each response as it leaves, never stored with the entry, so every origin shares one entry and a hit stays one
cache round trip. With a list of origins each response names the one that asked and carries ``Vary: Origin``, so a
shared cache (Varnish, a CDN) never hands one site's answer to another. With ``*`` every response says ``*``,
whatever the request's ``Origin``, and carries no ``Vary``: a shared cache keeps one copy for every site.
"""

import re
from collections.abc import Mapping
from typing import Any

from corsheaders.conf import conf
from corsheaders.middleware import CorsMiddleware as LibraryCorsMiddleware
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.http.response import HttpResponseBase

APP = "corsheaders"
MIDDLEWARE = f"{__name__}.CorsMiddleware"
# The middleware goes right above this one, so cached hits get the headers too.
BEFORE = "core.toolkit.middleware.CachedReadMiddleware"
ANY_ORIGIN = "*"
# What a browser sends as Origin (RFC 6454): scheme, host (an IDN in its xn-- form) and a port only when it is not
# the scheme's default; no path, no user, no trailing slash.
ORIGIN = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>[a-z0-9_.-]+|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{1,5}))?"
)
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_PORT = 65535

# Request headers a page may send beyond the CORS-safelisted ones: a token, a JSON body, revalidation and conditional
# writes, the request id to trace a call by, and the CSRF token of a session's writes (with credentials on).
ALLOW_HEADERS = ("accept", "authorization", "content-type", "if-match", "if-none-match", "x-csrftoken", "x-request-id")
# Response headers a page may read beyond the safelisted ones (Cache-Control, Content-Type and a few more).
EXPOSE_HEADERS = ("Cache-Status", "ETag", "Retry-After", "Server-Timing", "X-Request-ID")


def parse_origins(value: str) -> list[str]:
    """Return the origins of a comma-separated list, or raise ImproperlyConfigured naming one that is not an origin."""
    origins = [origin.strip() for origin in value.split(",") if origin.strip()]
    if ANY_ORIGIN in origins and len(origins) > 1:
        raise ImproperlyConfigured("DJANGO_CORS_ALLOWED_ORIGINS: * allows every origin; give it alone, or no *.")
    return [origin if origin == ANY_ORIGIN else _origin(origin) for origin in origins]


def _origin(text: str) -> str:
    """Return an origin as browsers send it (lower case), or raise ImproperlyConfigured saying why it is not one."""
    origin = text.lower()
    match = ORIGIN.fullmatch(origin)
    if match is None or int(match["port"] or 0) > MAX_PORT:
        raise ImproperlyConfigured(
            f"DJANGO_CORS_ALLOWED_ORIGINS: {text!r} is not an origin: "
            "write scheme://host[:port], with no path or trailing slash."
        )
    if match["port"] and DEFAULT_PORTS.get(match["scheme"]) == int(match["port"]):
        raise ImproperlyConfigured(
            f"DJANGO_CORS_ALLOWED_ORIGINS: {text!r} names its scheme's default port, which browsers leave out of "
            f"Origin: write {match['scheme']}://{match['host']}."
        )
    return origin


def cors_settings(origins: str, *, credentials: bool = False) -> dict[str, Any]:
    """Return django-cors-headers' settings for these origins, none when there are none; raise ImproperlyConfigured."""
    allowed = parse_origins(origins)
    if not allowed:
        return {}
    if credentials and allowed == [ANY_ORIGIN]:
        raise ImproperlyConfigured(
            "DJANGO_CORS_ALLOW_CREDENTIALS=on would let every site act as the signed-in user: name the origins."
        )
    return {
        "CORS_ALLOW_ALL_ORIGINS": allowed == [ANY_ORIGIN],
        "CORS_ALLOWED_ORIGINS": [origin for origin in allowed if origin != ANY_ORIGIN],
        # The API, its schema and docs: the admin and the landing page are this site's own pages.
        "CORS_URLS_REGEX": r"^/api/",
        "CORS_ALLOW_HEADERS": ALLOW_HEADERS,
        "CORS_EXPOSE_HEADERS": EXPOSE_HEADERS,
        # Seconds a browser may reuse a preflight's answer (browsers cap it: Chromium at 2 hours, Firefox at 24).
        "CORS_PREFLIGHT_MAX_AGE": 7200,
        # Off: the API's clients send a token in Authorization, which needs no cookie. On, a named site's pages may
        # also send the session cookie (and CSRF_TRUSTED_ORIGINS must list them for writes).
        "CORS_ALLOW_CREDENTIALS": credentials,
    }


def install_cors(namespace: dict[str, Any], cors: Mapping[str, Any]) -> None:
    """Add the CORS app, middleware and settings to a settings module's namespace; nothing when ``cors`` is empty."""
    if not cors:
        return
    middleware = list(namespace["MIDDLEWARE"])
    middleware.insert(middleware.index(BEFORE) if BEFORE in middleware else 0, MIDDLEWARE)
    namespace["MIDDLEWARE"] = middleware
    namespace["INSTALLED_APPS"] = [*namespace["INSTALLED_APPS"], APP]
    namespace.update(cors)


class CorsMiddleware(LibraryCorsMiddleware):
    """django-cors-headers' middleware, except that with every origin allowed, every response says so alike.

    The library answers only a request that sends ``Origin``, and so adds ``Vary: Origin`` to every response: a shared
    cache would keep one copy per calling site. For ``*`` the answer does not depend on the origin, so it is sent to
    every request, and nothing varies.
    """

    def add_response_headers(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        """Return the response with its CORS headers."""
        if not conf.CORS_ALLOW_ALL_ORIGINS or conf.CORS_ALLOW_CREDENTIALS:
            return super().add_response_headers(request, response)
        if self.is_enabled(request):
            response.headers["Access-Control-Allow-Origin"] = ANY_ORIGIN
            response.headers["Access-Control-Expose-Headers"] = ", ".join(conf.CORS_EXPOSE_HEADERS)
            if request.method == "OPTIONS":
                response.headers["Access-Control-Allow-Headers"] = ", ".join(conf.CORS_ALLOW_HEADERS)
                response.headers["Access-Control-Allow-Methods"] = ", ".join(conf.CORS_ALLOW_METHODS)
                response.headers["Access-Control-Max-Age"] = str(conf.CORS_PREFLIGHT_MAX_AGE)
        return response
