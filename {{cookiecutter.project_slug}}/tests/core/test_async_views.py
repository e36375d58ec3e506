"""``AsyncAPIView``: coroutine handlers served with DRF's checks, errors and rendering, under WSGI and ASGI alike."""

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
from asgiref.sync import async_to_sync
from django.http import HttpRequest
from django.test import RequestFactory
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from core.toolkit.async_views import AsyncAPIView


class EchoView(AsyncAPIView):
    """Answer the query string back, or a 404 for ?missing."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    async def get(self, request: Request) -> Response:
        """Return the query parameters."""
        if "missing" in request.query_params:
            raise NotFound("Nothing here.")
        return Response(dict(request.query_params.items()))


class PrivateView(EchoView):
    """The same, for signed-in users only."""

    permission_classes = [IsAuthenticated]


def call(view: type[AsyncAPIView], method: str, path: str = "/") -> Response:
    """Return the rendered response of view to a request, awaited as an ASGI server would."""
    request = getattr(RequestFactory(), method)(path)
    handler: Callable[[HttpRequest], Awaitable[Response]] = view.as_view()  # type: ignore[assignment]  # typed sync; a coroutine here
    response = async_to_sync(handler)(request)
    response.render()
    return response


def test_async_view_is_served_as_a_coroutine_by_django() -> None:
    assert EchoView.view_is_async


def test_async_view_answers_with_its_handlers_response_rendered_by_drf() -> None:
    response = call(EchoView, "get", "/?name=ann")

    assert response.status_code == 200
    assert response.content == b'{"name":"ann"}'


@pytest.mark.parametrize(
    ("view", "method", "path", "status"),
    [(EchoView, "get", "/?missing", 404), (EchoView, "post", "/", 405), (PrivateView, "get", "/", 403)],
)
def test_async_view_answers_drfs_error_responses(
    view: type[AsyncAPIView], method: str, path: str, status: int
) -> None:
    response = call(view, method, path)

    assert response.status_code == status
    assert set(orjson.loads(response.content)) == {"detail", "code"}
