"""JSON errors under DEBUG too, for a client that asks for JSON; a browser keeps Django's debug pages.

With DEBUG on, Django answers an unknown URL, a 400 it raises (``BadRequest``, ``SuspiciousOperation``: a host missing
from ``ALLOWED_HOSTS``) and an unhandled exception with its technical pages, HTML or a plain-text traceback, where
production answers JSON (core/plumbing/exceptions.py). settings/local.py installs ``DebugJSONErrorsMiddleware``, which
gives a client asking for JSON production's body instead, plus, for a 400 or a 500, ``"exception"``: its type and
message. The traceback still goes to the console log, where Django writes it. (A 403 goes to ``handler403`` under
DEBUG too: it is JSON already.) It sits right above ``CachedReadMiddleware``, below CORS, so its answers carry the CORS
headers; an error in the middleware above it (security headers, timing, the developer tools) keeps Django's page.

A client asks for JSON when its ``Accept`` prefers ``application/json`` to ``text/html``, and under ``/api/`` also when
it prefers neither (curl's ``*/*``, or no ``Accept`` at all). A browser puts ``text/html`` first.
"""

import json
from collections.abc import Callable
from http import HTTPStatus
from types import TracebackType

from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.views.debug import ExceptionReporter

from core.plumbing.exceptions import bad_request, page_not_found, server_error

GetResponse = Callable[[HttpRequest], HttpResponseBase]
JSON = "application/json"
HTML = "text/html"
API_PREFIX = "/api/"
# Production's answer to each status of Django's debug pages.
PRODUCTION_ERRORS: dict[int, Callable[[HttpRequest], JsonResponse]] = {
    400: bad_request,
    404: page_not_found,
    500: server_error,
}
# Where the reporter leaves the exception for the middleware.
EXCEPTION = "_debug_json_errors_exception"


def wants_json(request: HttpRequest) -> bool:
    """Return whether the client prefers JSON to HTML; under /api/, also when it prefers neither."""
    order = [JSON, HTML] if request.path_info.startswith(API_PREFIX) else [HTML, JSON]
    return request.get_preferred_type(order) == JSON


class DebugJSONErrorsMiddleware:
    """Answer a JSON client's debug error page with production's JSON body, naming the exception."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        """Return the response, with a debug error page replaced by JSON for a client that asks for it."""
        if not wants_json(request):
            return self.get_response(request)
        # Django's documented per-request hook: the debug page of a 400 or a 500 is built by this reporter.
        request.exception_reporter_class = _NotingReporter
        response = self.get_response(request)
        exception: BaseException | None = request.__dict__.pop(EXCEPTION, None)
        if not _is_debug_page(response, exception):
            return response
        answer = PRODUCTION_ERRORS[response.status_code](request)
        if exception is None:
            return answer
        body = json.loads(answer.content) | {"exception": f"{type(exception).__name__}: {exception}"}
        return JsonResponse(body, status=answer.status_code)


def _is_debug_page(response: HttpResponseBase, exception: BaseException | None) -> bool:
    """Return whether a response is a debug page: a 404 that is not JSON, or the page of a reported 400 or 500.

    A view's own 400 or 500 (no exception reported) is left as it is, as production leaves it.
    """
    if response.status_code not in PRODUCTION_ERRORS or response.get("Content-Type", "").startswith(JSON):
        return False
    return response.status_code == HTTPStatus.NOT_FOUND or exception is not None


class _NotingReporter(ExceptionReporter):
    """Django's debug reporter, leaving the exception on the request for the JSON answer."""

    def __init__(
        self,
        request: HttpRequest | None,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
        is_email: bool = False,
    ) -> None:
        super().__init__(request, exc_type, exc_value, tb, is_email)
        if request is not None:
            request.__dict__[EXCEPTION] = exc_value
