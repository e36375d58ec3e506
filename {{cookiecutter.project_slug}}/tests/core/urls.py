"""Views that exist only for the tests: they raise, echo and paginate so the shared plumbing can be exercised."""

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.pagination import PageNumberPagination


class EchoView(APIView):
    """Return the parsed body."""

    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        """Return the request data."""
        return Response({"received": request.data})


class NumbersView(APIView):
    """Return the numbers 1 to 500, paginated."""

    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        """Return one page of numbers."""
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(list(range(1, 501)), request, view=self)
        return paginator.get_paginated_response(page)


class DjangoValidationErrorView(APIView):
    """Raise Django's ValidationError, as model validation in a service would."""

    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        """Raise."""
        raise ValidationError("Bad value.")


def crash(request: HttpRequest, *args: Any) -> HttpResponse:
    """Raise an unexpected error."""
    raise RuntimeError("boom")


urlpatterns: list[URLPattern] = [
    path("echo/", EchoView.as_view()),
    path("numbers/", NumbersView.as_view()),
    path("django-validation-error/", DjangoValidationErrorView.as_view()),
    path("crash/", crash),
]
handler500 = "core.exceptions.server_error"
handler404 = "core.exceptions.page_not_found"
