"""One log line per request: method, path, status, duration, database queries, and how a cached read was answered.

``RequestLogMiddleware``, right below ``RequestIdMiddleware`` in ``MIDDLEWARE``, sees every response (cached hits
answered early, 304s and error pages included) and logs it to the ``core.requests`` logger at INFO. The JSON format
writes each field as a key, the plain one in the message (``GET /api/tags/ 200 0.412 ms, 0 queries, cache hit``):

- ``method``; ``path``, without the query string; ``query``, the query string with the values of sensitive names
  (``?token=``, ``?api_key=``) replaced (core/observability/redaction.py), since a log is read by many and some
  clients put credentials in URLs; each at most ``MAX_LOGGED`` characters;
- ``status``; ``duration_ms``, from this middleware's call to its return: the sending of the body is not in it;
- ``queries``: the database queries the request ran, counted by a wrapper on each connection's
  ``execute_wrappers`` (the list behind ``connection.execute_wrapper()``), added once per connection, not per request;
- ``cache``: ``hit``, ``miss`` or ``stale`` for a cached read (``core.toolkit.http.CACHE_OUTCOME``), ``none`` for
  any other response;
- ``request_id``, as on every line (core/observability/request_id.py).

``settings.REQUEST_LOG`` (``DJANGO_REQUEST_LOG``) turns it on, as production does by default; off, the middleware
drops out of the chain and costs nothing.
"""

import logging
from collections.abc import Callable
from contextvars import ContextVar
from time import perf_counter
from typing import Any

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponseBase

from core.observability.query_wrappers import wrap_every_connection
from core.observability.redaction import redact_query
from core.toolkit.http import CACHE_OUTCOME

LOGGER = "core.requests"
# Paths and query strings are the client's to choose: a line holds at most this many characters of each.
MAX_LOGGED = 1024
MESSAGE = "%s %s %d %.3f ms, %d queries, cache %s"

GetResponse = Callable[[HttpRequest], HttpResponseBase]

logger = logging.getLogger(LOGGER)
# The running request's query count, in a list so the wrapper adds to it without setting the variable again.
_queries: ContextVar[list[int] | None] = ContextVar("request_queries", default=None)


class RequestLogMiddleware:
    """Log one line per request, once its response is ready."""

    def __init__(self, get_response: GetResponse) -> None:
        if not settings.REQUEST_LOG:
            raise MiddlewareNotUsed
        self.get_response = get_response
        wrap_every_connection(_count_query)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        """Return the response, logged."""
        if not logger.isEnabledFor(logging.INFO):
            return self.get_response(request)
        queries = [0]
        token = _queries.set(queries)
        started = perf_counter()
        try:
            response = self.get_response(request)
        finally:
            _queries.reset(token)
        duration_ms = (perf_counter() - started) * 1000
        _log(request, response, round(duration_ms, 3), queries[0])
        return response


def _log(request: HttpRequest, response: HttpResponseBase, duration_ms: float, queries: int) -> None:
    """Log the request's line."""
    path = request.path[:MAX_LOGGED]
    query = request.META.get("QUERY_STRING", "")
    if query:
        query = redact_query(query[:MAX_LOGGED])
    cache = getattr(response, CACHE_OUTCOME, "none")
    fields = {
        "method": request.method,
        "path": path,
        "query": query,
        "status": response.status_code,
        "duration_ms": duration_ms,
        "queries": queries,
        "cache": cache,
    }
    target = f"{path}?{query}" if query else path
    logger.info(MESSAGE, request.method, target, response.status_code, duration_ms, queries, cache, extra=fields)


def _count_query(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    """Run a query, counting it for the running request."""
    queries = _queries.get()
    if queries is not None:
        queries[0] += 1
    return execute(sql, params, many, context)
