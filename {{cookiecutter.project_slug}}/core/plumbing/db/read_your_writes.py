"""Read-your-writes: a client that has just written reads from the primary for a few seconds.

Installed with read replicas only (settings/base.py). The response to every POST, PUT, PATCH and DELETE sets the cookie
``primary_until`` (the time, in whole seconds since the epoch, the window ends: ``DB_READ_YOUR_WRITES_SECONDS``
later); a request that carries it, not yet past, is pinned: its rebuilds read the primary (``is_pinned``).

The version guard of ``core.plumbing.db.replicas`` already keeps a rebuild from reading a replica older than a bump it
is built for; the pin also covers what no version marks (a row of a model no cached view shows yet, a write whose bump
has not landed in the cache). The cookie is not signed: a client that sends one of its own only sends its own
rebuilds to the primary, which its cache-miss budget bounds; a value further ahead than the window is a lie and pins
nothing.
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

COOKIE = "primary_until"
# Where the middleware leaves its verdict on the request (a DRF Request reads it through to Django's).
PINNED = "_pinned_to_primary"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Clocks of the servers behind one balancer may differ by this much: a value this far past the window still pins.
CLOCK_SKEW_SECONDS = 2
# Longer values are no time this middleware wrote (10 digits last until the year 2286).
MAX_DIGITS = 12


class ReadYourWritesMiddleware:
    """Pin to the primary the requests of a client that wrote in the last ``DB_READ_YOUR_WRITES_SECONDS``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        """Note whether the request is pinned; after a write, set the cookie that pins the client's next reads."""
        now = time.time()
        window = settings.DB_READ_YOUR_WRITES_SECONDS
        request.__dict__[PINNED] = pinned_until(request.COOKIES.get(COOKIE), now=now, window=window)
        response = self.get_response(request)
        if request.method in UNSAFE_METHODS and window > 0:
            until = str(int(now + window) + 1)
            secure = settings.SESSION_COOKIE_SECURE
            response.set_cookie(COOKIE, until, max_age=int(window) + 1, httponly=True, samesite="Lax", secure=secure)
        return response


def pinned_until(value: str | None, *, now: float, window: float) -> bool:
    """Return whether a cookie value pins the request: a time after now and at most the window (and skew) ahead."""
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > MAX_DIGITS:
        return False
    return now < int(value) <= now + window + CLOCK_SKEW_SECONDS


def is_pinned(request: HttpRequest) -> bool:
    """Return whether the request's reads must use the primary."""
    return bool(getattr(request, PINNED, False))
