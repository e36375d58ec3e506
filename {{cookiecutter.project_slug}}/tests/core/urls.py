"""Views that exist only for the tests: they raise, echo and paginate so the shared plumbing can be exercised."""

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.caching import track_models
from core.pagination import KeysetPagination, PageNumberPagination
from core.views import CachedReadMixin, PublicReadView

# The toolkit's tests cache reads of these models, so their changes must rebuild those reads.
track_models(Group, Permission)
GROUP_PAGES = KeysetPagination({"name": ("name", "id"), "-id": ("-id",)}, default="name")


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


class GroupListView(CachedReadMixin, PublicReadView):
    """A cached, keyset-paginated list of groups with their permission codenames."""

    cache_models = (Group, Permission)
    cache_query_params = ("cursor", "ordering", "page_size")

    def get(self, request: Request) -> Response:
        """Return one page of groups."""
        page = GROUP_PAGES.paginate(Group.objects.values("id", "name"), request, params={})
        codenames = Permission.objects.filter(group__in=[row["id"] for row in page.rows]).values_list(
            "group__id", "codename"
        )
        by_group: dict[int, list[str]] = {}
        for group_id, codename in codenames:
            by_group.setdefault(group_id, []).append(codename)
        return Response(page.data([{**row, "permissions": by_group.get(row["id"], [])} for row in page.rows]))


class GroupDetailView(CachedReadMixin, PublicReadView):
    """A cached group, or a cached 404."""

    cache_models = (Group,)

    def get(self, request: Request, pk: int) -> Response:
        """Return the group's name."""
        group = Group.objects.filter(pk=pk).values("id", "name").first()
        if group is None:
            raise NotFound
        return Response(group)


def crash(request: HttpRequest, *args: Any) -> HttpResponse:
    """Raise an unexpected error."""
    raise RuntimeError("boom")


urlpatterns: list[URLPattern] = [
    path("echo/", EchoView.as_view()),
    path("numbers/", NumbersView.as_view()),
    path("django-validation-error/", DjangoValidationErrorView.as_view()),
    path("crash/", crash),
    path("groups/", GroupListView.as_view()),
    path("groups/<int:pk>/", GroupDetailView.as_view()),
]
handler500 = "core.exceptions.server_error"
handler404 = "core.exceptions.page_not_found"
