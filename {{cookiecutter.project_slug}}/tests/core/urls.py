"""Views that exist only for the tests: they raise, echo and paginate so the shared plumbing can be exercised."""

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.toolkit.caching import track_models
from core.toolkit.pagination import PageNumberPagination, keyset
from core.toolkit.rows import Row
from core.toolkit.views import CachedDetailView, CachedListView, CachedReadView

# The toolkit's tests cache reads of these models, so their changes must rebuild those reads.
track_models(Group, Permission)
ISSUED_SECRET = "issued-secret-9d4c2a7b51e0"


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


class GroupRow(Row[Group]):
    """A group with its permission codenames."""

    permissions = serializers.ListField(child=serializers.CharField(), source="permissions.codename")

    class Meta:
        model = Group
        fields = ["id", "name", "permissions"]


class GroupNameRow(Row[Group]):
    """A group's id and name."""

    class Meta:
        model = Group
        fields = ["id", "name"]


class GroupListView(CachedListView):
    """A cached, keyset-paginated list of groups with their permission codenames."""

    public_methods = ("GET",)
    serializer_class = GroupRow
    pagination_class = keyset({"name": ("name", "id"), "-id": ("-id",)})
    cache_models = (Group, Permission)


class GroupDetailView(CachedDetailView):
    """A cached group, or a cached 404: rebuilt when that group changes, not when another one does."""

    public_methods = ("GET",)
    serializer_class = GroupNameRow
    cache_object = Group


class GroupPermissionListView(CachedReadView):
    """A group's permission codenames: rebuilt when that group's links change, or any permission does."""

    public_methods = ("GET",)
    cache_object = Group
    cache_models = (Permission,)

    def read(self, pk: int) -> list[str]:
        """Return the codenames."""
        return list(Permission.objects.filter(group=pk).order_by("codename").values_list("codename", flat=True))


class GroupSerializer(serializers.ModelSerializer[Group]):
    """A group with its permission codenames, through DRF's ModelSerializer."""

    permissions = serializers.SlugRelatedField[Permission](slug_field="codename", many=True, read_only=True)

    class Meta:
        model = Group
        fields = ["id", "name", "permissions"]


class GroupSerializedListView(APIView):
    """Every group, serialized by a ModelSerializer and rendered by DRF: nothing cached."""

    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        """Return every group with its permissions."""
        return Response(GroupSerializer(Group.objects.prefetch_related("permissions"), many=True).data)


def issue_token(request: HttpRequest) -> JsonResponse:
    """Answer as a sign-in endpoint would: a session cookie set and a token in the body."""
    response = JsonResponse({"token": ISSUED_SECRET, "user": "someone"})
    response.set_cookie("sessionid", ISSUED_SECRET)
    return response


def crash(request: HttpRequest, *args: Any) -> HttpResponse:
    """Raise an unexpected error."""
    raise RuntimeError("boom")


urlpatterns: list[URLPattern] = [
    path("echo/", EchoView.as_view()),
    path("numbers/", NumbersView.as_view()),
    path("django-validation-error/", DjangoValidationErrorView.as_view()),
    path("crash/", crash),
    path("api/sign-in/", issue_token),
    path("groups/", GroupListView.as_view()),
    path("groups/<int:pk>/", GroupDetailView.as_view()),
    path("groups/<int:pk>/permissions/", GroupPermissionListView.as_view()),
    path("groups/serialized/", GroupSerializedListView.as_view()),
]
handler500 = "core.plumbing.exceptions.server_error"
handler404 = "core.plumbing.exceptions.page_not_found"
