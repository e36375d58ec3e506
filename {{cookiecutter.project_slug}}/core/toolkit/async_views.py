"""Async DRF views: ``AsyncAPIView``, an ``APIView`` whose handlers are coroutines, for views that wait on I/O.

DRF's ``APIView.dispatch`` is sync, so a coroutine handler would return an unawaited coroutine. Here ``dispatch``
is a coroutine: Django then serves the view as async (awaited on an ASGI server, run through ``async_to_sync``
under WSGI), and everything else stays DRF's: its request, renderers, exception handler and the schema that
drf-spectacular generates from the class. Authentication, permissions and throttles may touch the database or the
cache, so they run in a thread (``sync_to_async``), as must any ORM call a handler makes.

Only a view that waits on several independent things at once gains from this (README, "ASGI where it pays"); the
thread hops make every other view slower than its sync twin.
"""

from inspect import isawaitable
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest
from rest_framework.response import Response
from rest_framework.views import APIView


class AsyncAPIView(APIView):
    """An ``APIView`` whose HTTP method handlers are ``async def``."""

    async def dispatch(  # type: ignore[override]  # the coroutine of APIView.dispatch's response
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> Response:
        """Return the handler's response, awaited, with DRF's checks, exception handling and rendering around it."""
        self.args = args
        self.kwargs = kwargs
        drf_request = self.initialize_request(request, *args, **kwargs)
        self.request = drf_request
        self.headers = self.default_response_headers
        try:
            await sync_to_async(self.initial)(drf_request, *args, **kwargs)
            method = (drf_request.method or "").lower()
            handler = getattr(self, method, self.http_method_not_allowed)
            if method not in self.http_method_names:
                handler = self.http_method_not_allowed
            response = handler(drf_request, *args, **kwargs)
            if isawaitable(response):  # not for DRF's own sync handlers: options, http_method_not_allowed
                response = await response
        except Exception as exc:  # DRF's handler answers it or raises it again, as APIView does
            response = self.handle_exception(exc)
        self.response = self.finalize_response(drf_request, response, *args, **kwargs)
        return self.response
