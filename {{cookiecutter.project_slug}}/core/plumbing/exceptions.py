"""JSON errors everywhere: DRF's exception handler and Django's 400, 403, 404 and 500 handlers.

Every error body has the same shape as DRF's: ``{"detail": <message>, "code": <machine-readable code>}``
(validation errors keep DRF's per-field shape). A database that cannot be reached is a 503 with ``Retry-After``,
not a 500: ``DatabaseUnavailableMiddleware`` answers it for views, ``server_error`` for middleware.
"""

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.plumbing.parsers import RequestTooLarge

logger = logging.getLogger(__name__)
# The logger of database outages, rate-limited by core.observability.logging.OutageFilter (see LOGGING in
# settings/base.py).
outage_logger = logging.getLogger("core.plumbing.db")
# What a refused or lost connection, or a psycopg pool timeout, becomes in Django: the database cannot be reached.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
# Sent when no breaker says better: about when a restarted database takes connections again.
DEFAULT_RETRY_AFTER = 2


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Return DRF's error response, also for the Django exceptions that mean bad input rather than a bug."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.messages)
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()  # a form body over the limit; JSON ones are refused by the parser the same way
    elif isinstance(exc, SuspiciousOperation):
        logger.warning("Suspicious request refused: %s", exc)
        exc = exceptions.ParseError("Bad request.")
    response = exception_handler(exc, context)
    detail = response.data.get("detail") if response is not None and isinstance(response.data, dict) else None
    if response is not None and len(response.data) == 1 and isinstance(detail, exceptions.ErrorDetail):
        response.data["code"] = detail.code
    return response


def error_response(status: int, detail: str, code: str) -> JsonResponse:
    """Return a JSON error response in DRF's shape."""
    return JsonResponse({"detail": detail, "code": code}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Return the JSON 400 for requests Django refuses before any view runs."""
    return error_response(400, "Bad request.", "bad_request")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Return the JSON 403 for non-API views."""
    return error_response(403, "You do not have permission to perform this action.", "permission_denied")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Return the JSON 404 for unknown URLs."""
    return error_response(404, "Not found.", "not_found")


def server_error(request: HttpRequest) -> JsonResponse:
    """Return the JSON 500 (Django logs the error), or the 503 when a middleware could not reach the database."""
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_UNAVAILABLE):
        return database_unavailable(exc)
    return error_response(500, "Server error.", "server_error")


def database_unavailable(exc: Exception) -> JsonResponse:
    """Return the JSON 503 for a database that cannot be reached, with Retry-After, logged once per outage."""
    outage_logger.error("Database unavailable: %s", exc)
    response = error_response(503, "The database is unavailable; retry shortly.", "database_unavailable")
    response["Retry-After"] = str(_retry_after())
    add_never_cache_headers(response)
    # Logged above, through the outage filter: Django's own log line would repeat it, with a traceback, each time.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _retry_after() -> int:
    """Return the seconds until the database may be tried again: the breaker's, when it is open."""
    breaker = getattr(connections["default"], "breaker", None)
    if breaker is not None and breaker.is_open:
        return int(breaker.retry_after())
    return DEFAULT_RETRY_AFTER


class DatabaseUnavailableMiddleware:
    """Answer a view that could not reach the database (OperationalError, InterfaceError) with the JSON 503.

    DRF's exception handler leaves these to Django, so this covers API and other views alike.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Return the view's response."""
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Return the 503 for a database error that means the database cannot be reached, else None."""
        if isinstance(exception, DATABASE_UNAVAILABLE):
            return database_unavailable(exception)
        return None
