"""The OpenAPI schema: a valid document whose every operation documents its success and its errors; local docs.

This module is also a URLconf: the project's URLs plus a few views below that exercise each error rule of
``core.toolkit.schema.AutoSchema``, so the rules are checked whether or not the project has API endpoints of its own.
"""

import re
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import Group
from django.contrib.staticfiles import finders
from django.test import Client, RequestFactory
from django.urls import Resolver404, ResolverMatch, URLPattern, URLResolver, include, path, resolve
from drf_spectacular.utils import extend_schema
from openapi_spec_validator import validate
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.plumbing import urls as project_urls
from core.toolkit.schema import SERVER_REFUSALS
from core.toolkit.views import CachedReadView

pytestmark = pytest.mark.django_db

ASSET_PATTERN = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
PATH_PARAMETER = re.compile(r"\{\w+\}")
# A path parameter's sample value: an integer fits most, a UUID the others.
PATH_SAMPLES = ("1", "00000000-0000-4000-8000-000000000001")
METHODS = ("get", "put", "post", "delete", "patch")
ERROR_REF = {"$ref": "#/components/schemas/Error"}
INPUT_ERROR = {"anyOf": [{"$ref": "#/components/schemas/ValidationError"}, ERROR_REF]}
NO_THING = "No thing has this id."


class ThingSerializer(serializers.Serializer[Any]):
    """A thing."""

    name = serializers.CharField()


class ThingView(CachedReadView):
    """A cached public read with its own 404, and a write with the project's defaults."""

    public_methods = ("GET",)
    serializer_class = ThingSerializer
    not_found = NO_THING

    def read(self, pk: int) -> dict[str, str]:
        """Return a thing."""
        return {"name": "thing"}

    @extend_schema(request=ThingSerializer, responses=ThingSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        """Change a thing."""
        return Response({"name": "thing"})


class OpenWriteView(APIView):
    """A write anyone may make, with no credentials checked and no throttle."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @extend_schema(request=ThingSerializer, responses={201: ThingSerializer})
    def post(self, request: Request) -> Response:
        """Make a thing."""
        return Response({"name": "thing"}, status=201)


class SignedInReadView(APIView):
    """A read for signed-in users: refused with a 401, since the first authenticator names a challenge."""

    throttle_classes: list[Any] = []

    @extend_schema(responses=ThingSerializer)
    def get(self, request: Request) -> Response:
        """Return a thing."""
        return Response({"name": "thing"})


class SessionOnlyReadView(SignedInReadView):
    """A read for session-signed-in users: refused with a 403, since sessions name no challenge."""

    authentication_classes = [SessionAuthentication]


class IsStaff(BasePermission):
    """Only staff."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        """Return whether the user is staff."""
        return bool(request.user.is_staff)


class StaffReadView(SignedInReadView):
    """A read a signed-in user may still be refused."""

    permission_classes = [IsAuthenticated, IsStaff]


class GroupSerializer(serializers.ModelSerializer[Group]):
    """A group."""

    class Meta:
        model = Group
        fields = ["id", "name"]


class GroupPagesView(ListAPIView[Group]):
    """A list in numbered pages, open to all."""

    queryset = Group.objects.order_by("id")
    serializer_class = GroupSerializer
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []


TOOLKIT_PATTERNS = [
    path("things/<int:pk>/", ThingView.as_view()),
    path("open/", OpenWriteView.as_view()),
    path("signed-in/", SignedInReadView.as_view()),
    path("session-only/", SessionOnlyReadView.as_view()),
    path("staff/", StaffReadView.as_view()),
    path("groups/", GroupPagesView.as_view()),
]
urlpatterns: list[URLPattern | URLResolver] = [*project_urls.urlpatterns, path("toolkit/", include(TOOLKIT_PATTERNS))]


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Return (method, path, operation) for every operation of the document."""
    return [(m, p, op) for p, item in document["paths"].items() for m, op in item.items() if m in METHODS]


def drf_view(method: str, template: str) -> tuple[APIView, Request]:
    """Return the view that answers a request of this method to the path, set up as DRF dispatch sets it up."""
    urls = [PATH_PARAMETER.sub(sample, template) for sample in PATH_SAMPLES]
    url, match = next((url, match) for url in urls if (match := _resolved(url)) is not None)
    view: APIView = match.func.view_class(**match.func.view_initkwargs)  # type: ignore[attr-defined]
    http_request = RequestFactory().generic(method.upper(), url)
    view.setup(http_request, *match.args, **match.kwargs)
    return view, view.initialize_request(http_request)


def _resolved(url: str) -> ResolverMatch | None:
    """Return the URL's match, or None."""
    try:
        return resolve(url)
    except Resolver404:
        return None


def expected_statuses(method: str, template: str, operation: dict[str, Any]) -> set[int]:
    """Return the statuses the operation must document, from its own parameters, body and security, and its view."""
    locations = {parameter["in"] for parameter in operation.get("parameters", [])}
    has_body = "requestBody" in operation
    view, request = drf_view(method, template)
    expected = set(SERVER_REFUSALS)  # gunicorn refuses a URL longer than its limit, whatever the operation
    if has_body or "query" in locations:
        expected.add(400)
    if has_body:
        expected |= {413, 415}
    if "path" in locations:
        expected.add(404)
    if operation.get("security") and {} not in operation["security"]:
        # Anonymous requests are refused: with a 401 when the view names a challenge, else with a 403.
        expected.add(401 if view.get_authenticate_header(request) else 403)
    if any(type(permission) not in (AllowAny, IsAuthenticated) for permission in view.get_permissions()):
        expected.add(403)
    if view.get_throttles():
        expected.add(429)
    if method == "get" and isinstance(view, CachedReadView):
        expected.add(304)
    return expected


def test_schema_endpoint_returns_a_valid_openapi_3_document(client: Client) -> None:
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    validate(document)


def test_schema_endpoint_serves_yaml_by_default(client: Client) -> None:
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert yaml.safe_load(response.content)["info"]["title"]


@pytest.mark.urls(__name__)
def test_schema_with_the_toolkit_views_is_a_valid_openapi_3_document(document: dict[str, Any]) -> None:
    validate(document)


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("get", "/toolkit/things/{id}/", {"200", "304", "404", "414"}),
        ("patch", "/toolkit/things/{id}/", {"200", "400", "401", "403", "404", "413", "414", "415", "429"}),
        ("post", "/toolkit/open/", {"201", "400", "413", "414", "415"}),
        ("get", "/toolkit/signed-in/", {"200", "401", "414"}),
        ("get", "/toolkit/session-only/", {"200", "403", "414"}),
        ("get", "/toolkit/staff/", {"200", "401", "403", "414"}),
        ("get", "/toolkit/groups/", {"200", "400", "404", "414"}),
    ],
)
def test_schema_class_documents_exactly_the_responses_a_view_can_give(
    document: dict[str, Any], method: str, path: str, statuses: set[str]
) -> None:
    assert set(document["paths"][path][method]["responses"]) == statuses


@pytest.mark.urls(__name__)
def test_schema_class_keeps_an_error_response_the_view_declares(document: dict[str, Any]) -> None:
    not_found = document["paths"]["/toolkit/things/{id}/"]["get"]["responses"]["404"]

    assert not_found["description"] == NO_THING
    assert not_found["content"]["application/json"]["schema"] == ERROR_REF


@pytest.mark.urls(__name__)
def test_error_components_describe_the_bodies_of_core_exceptions(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]

    assert schemas["Error"]["properties"].keys() == {"detail", "code"}
    assert all(field["type"] == "string" for field in schemas["Error"]["properties"].values())
    assert set(schemas["Error"]["required"]) == {"detail", "code"}
    assert schemas["ValidationError"]["additionalProperties"] == {"type": "array", "items": {"type": "string"}}


@pytest.mark.urls(__name__)
def test_every_operation_documents_a_success_and_every_error_it_can_give(document: dict[str, Any]) -> None:
    found = operations(document)

    assert len(found) >= len(TOOLKIT_PATTERNS)
    for method, template, operation in found:
        documented = {int(status) for status in operation["responses"]}
        assert any(200 <= status < 300 for status in documented), f"{method} {template} documents no success"
        missing = expected_statuses(method, template, operation) - documented
        assert not missing, f"{method.upper()} {template} does not document {sorted(missing)}"


@pytest.mark.urls(__name__)
def test_every_documented_error_has_a_json_body_in_the_error_shape(document: dict[str, Any]) -> None:
    for method, template, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400 or int(status) in SERVER_REFUSALS:  # gunicorn's, with no body of the API's
                continue
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            expected = INPUT_ERROR if status == "400" else ERROR_REF
            assert schema == expected, f"{method.upper()} {template} {status} has the body {schema}"


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_page_renders_with_local_assets_only(client: Client, url: str) -> None:
    response = client.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    assets = ASSET_PATTERN.findall(html)
    assert assets, "the page references no assets at all"
    for asset in assets:
        if asset == f"{url}?script=":
            # Swagger UI's start-up script, served by its page as a file so that no inline script has to run.
            assert client.get(asset)["Content-Type"].startswith("application/javascript")
            continue
        assert asset.startswith("/static/"), f"{asset} is not served by this project"
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is referenced but not shipped"
    assert "cdn" not in html.lower()
    assert "://" not in "".join(assets)
