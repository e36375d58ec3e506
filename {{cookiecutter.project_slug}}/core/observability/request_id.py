"""Request ids: each request's ``X-Request-ID``, returned on its response and written in every log line it causes.

``RequestIdMiddleware``, first in ``MIDDLEWARE``, takes the id the client (or a proxy in front) sent when it is 1 to
128 characters of ``A-Z a-z 0-9 . _ : -``, and makes one otherwise: 32 random hex digits. Every response carries
it, cached hits answered early, 304s, Django's error pages and the 503 included. ``RequestIdFilter``, on the log
handler in ``LOGGING``, adds it to every record as ``request_id`` (``-`` outside a request), whichever logger wrote
it; with Sentry on, the middleware tags the request's events with it too.

The id is a correlation id and nothing more: any client can send any well-formed value (``DJANGO_NUM_PROXIES`` or
not, no proxy vouches for it), so it is never used for identity, throttling, caching or anything else that trusts it.
"""

import logging
import os
import re
import sys
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponseBase

HEADER = "X-Request-ID"
# What a client's id may be: anything else (empty, too long, a space, a newline to forge a log line) is replaced.
_well_formed = re.compile(r"[A-Za-z0-9._:-]{1,128}").fullmatch
# Logged outside any request.
NO_REQUEST = "-"

GetResponse = Callable[[HttpRequest], HttpResponseBase]

_current: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)


def current_request_id() -> str:
    """Return the running request's id, or ``NO_REQUEST``."""
    return _current.get()


def new_request_id() -> str:
    """Return a fresh id: 128 random bits in hex, as many as a uuid4's, at a quarter of ``uuid4().hex``'s cost."""
    return os.urandom(16).hex()


class RequestIdMiddleware:
    """Take or make the request's id, make it the current one, and return it in ``X-Request-ID``."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.tag = _sentry_tagger()
        # Cleared once the response is closed, not when this middleware returns: Django logs a 4xx or 5xx after the
        # whole chain has run ("Not Found: ..."), and that line belongs to the request too.
        request_finished.connect(_forget, dispatch_uid=f"{__name__}.forget")

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        """Return the response, with the request's id."""
        given = request.META.get("HTTP_X_REQUEST_ID")
        request_id = given if given is not None and _well_formed(given) else new_request_id()
        _current.set(request_id)
        if self.tag is not None:
            self.tag("request_id", request_id)
        response = self.get_response(request)
        response.headers[HEADER] = request_id
        return response


def _sentry_tagger() -> Callable[[str, str], None] | None:
    """Return ``sentry_sdk.set_tag`` when Sentry is on in this process (core/observability/sentry.py), else None."""
    # Without SENTRY_DSN, sentry-sdk is never imported: then there is nothing to ask.
    sentry_sdk = sys.modules.get("sentry_sdk")
    if sentry_sdk is None or not sentry_sdk.get_client().is_active():
        return None
    tag: Callable[[str, str], None] = sentry_sdk.set_tag
    return tag


def _forget(**kwargs: Any) -> None:
    """Leave no request's id current once its response is closed."""
    _current.set(NO_REQUEST)


class RequestIdFilter(logging.Filter):
    """Add the running request's id to every record as ``request_id``; on a handler, it sees every logger's records."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Return True, the record given its ``request_id``."""
        record.request_id = _current.get()
        return True
