"""JSON errors everywhere: DRF's exception handler and Django's 400, 403, 404 and 500 handlers.

Every error body has the same shape as DRF's: ``{"detail": <message>, "code": <machine-readable code>}``
(validation errors keep DRF's per-field shape).
"""

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.parsers import RequestTooLarge

logger = logging.getLogger(__name__)


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
    """Return the JSON 500; the error itself is logged by Django."""
    return error_response(500, "Server error.", "server_error")
