"""OpenAPI for the project: the schema class that documents every operation's errors, and the toolkit's shapes.

``AutoSchema`` (the ``DEFAULT_SCHEMA_CLASS``) adds to each operation the responses DRF and the toolkit give it
without the view saying so: errors as ``core.plumbing.exceptions`` shapes them, a 304 for cached reads and their
404 in the view's own words (``not_found``). A cached read's query parameters come from its ``filter_class``, and a
list's paging from its paginator through DRF's protocol. A view's own ``@extend_schema(responses=...)`` entry for a
status wins over the generic one; ``documented_error`` gives it the same ``Error`` body.
"""

import copy
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.plumbing import ComponentRegistry, ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated

from core.toolkit.views import CachedReadView

Schema = dict[str, Any]

GENERIC_DESCRIPTIONS = {
    304: "Not modified: the ETag sent in If-None-Match is still current. No body.",
    400: "Invalid query parameters or request body: messages by field, or a detail and code for a malformed body.",
    401: "No credentials, or credentials that are not valid. The WWW-Authenticate header names the scheme.",
    403: "The credentials are valid but do not allow this, or a session-authenticated write lacks its CSRF token.",
    404: "Not found: nothing matches the path's parameters, or no page has this number.",
    413: "The request body is larger than the limit.",
    414: "The URL is longer than gunicorn accepts (limit_request_line): refused before the API, by a page of its own.",
    415: "The request body's Content-Type is not one the operation accepts.",
    429: "Too many requests. Retry-After says how many seconds to wait.",
}
GENERIC_HEADERS: dict[int, Schema] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "required": True, "description": "The scheme to use."}},
    429: {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds until a request is allowed."}},
}
# Refused by the server in front of Django, so not in the API's Error shape: documented without a body.
SERVER_REFUSALS = {414}
VALIDATION_ERROR: Schema = {
    "type": "object",
    "description": "Messages by field or query parameter name, under non_field_errors for the body as a whole.",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "example": {"title": ["This field is required."]},
}


class ErrorSerializer(serializers.Serializer[Any]):
    """The body of every error response but a validation error's."""

    detail = serializers.CharField(help_text="What went wrong, for people.")
    code = serializers.CharField(help_text="What went wrong, for programs: not_found, throttled, parse_error...")


def documented_error(description: str) -> OpenApiResponse:
    """Return an error response in the ``Error`` shape, for a view's own ``@extend_schema(responses=...)``."""
    return OpenApiResponse(ErrorSerializer, description=description)


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, with the error responses each operation can give that its view does not declare."""

    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: ComponentRegistry
    ) -> Schema | None:
        """Return the operation with a response for every status it can give, in status order."""
        operation: Schema | None = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses: Schema = operation["responses"]
        for status in self._generic_statuses(operation):
            responses.setdefault(str(status), self._generic_response(status))
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def get_override_parameters(self) -> list[Any]:
        """Return the view's declared parameters, and for a cached read the query parameters of its filters."""
        parameters: list[Any] = super().get_override_parameters()
        filters = getattr(self.view, "filter_class", None)
        if filters is not None and self.method == "GET":
            return [filters, *parameters]
        return parameters

    def _generic_statuses(self, operation: Schema) -> set[int]:
        """Return the statuses DRF and the toolkit can answer this operation with, from its parameters and view."""
        # Any URL can be made too long, with parameters of the operation's or not.
        statuses = self._refusals() | SERVER_REFUSALS
        locations = {parameter["in"] for parameter in operation.get("parameters", [])}
        has_body = "requestBody" in operation
        if has_body or "query" in locations:
            statuses.add(400)
        if has_body:
            statuses |= {413, 415}
        if "path" in locations or self._pages_by_number():
            statuses.add(404)
        if self.view.get_throttles():
            statuses.add(429)
        if self.method == "GET" and isinstance(self.view, CachedReadView):
            statuses.add(304)
        return statuses

    def _pages_by_number(self) -> bool:
        """Return whether the operation is a list in numbered pages, which answers a page past the end with 404."""
        pagination_class = getattr(self.view, "pagination_class", None)
        return bool(pagination_class and issubclass(pagination_class, PageNumberPagination) and self._is_list_view())

    def _refusals(self) -> set[int]:
        """Return 401 and 403 as DRF can refuse this method: credentials, permissions and CSRF."""
        authenticators = self.view.get_authenticators()
        permissions = [p for p in self.view.get_permissions() if not isinstance(p, AllowAny)]
        if not (authenticators or permissions):
            return set()
        # DRF refuses a missing or bad login with 401 when the first authenticator names a challenge, else 403.
        statuses = {401 if self.view.get_authenticate_header(self.view.request) else 403}
        # IsAuthenticated refuses only anonymous requests, answered above; any other permission may refuse a user.
        if any(type(p) is not IsAuthenticated for p in permissions) or self._checks_csrf(authenticators):
            statuses.add(403)
        return statuses

    def _checks_csrf(self, authenticators: list[BaseAuthentication]) -> bool:
        """Return whether a session-authenticated request of this method must carry a CSRF token."""
        return self.method not in SAFE_METHODS and any(isinstance(a, SessionAuthentication) for a in authenticators)

    def _generic_response(self, status: int) -> Schema:
        """Return the documented response for a status the view does not declare."""
        response: Schema = {"description": self._description(status)}
        if status in GENERIC_HEADERS:
            response["headers"] = copy.deepcopy(GENERIC_HEADERS[status])
        if status >= 400 and status not in SERVER_REFUSALS:
            schema = self._error_schema(status)
            response["content"] = {media_type: {"schema": schema} for media_type in self.map_renderers("media_type")}
        return response

    def _description(self, status: int) -> str:
        """Return what the status means here: a cached read's 404 says what it did not find."""
        if status == 404 and isinstance(self.view, CachedReadView) and self.method == "GET":
            return self.view.not_found
        return GENERIC_DESCRIPTIONS[status]

    def _error_schema(self, status: int) -> Schema:
        """Return the body schema of an error: ``Error``, or for a 400 either ``ValidationError`` or ``Error``."""
        error: Schema = self.resolve_serializer(ErrorSerializer, "response").ref
        if status != 400:
            return error
        validation = ResolvedComponent(  # type: ignore[no-untyped-call]  # drf-spectacular leaves it untyped
            name="ValidationError", type=ResolvedComponent.SCHEMA, object="ValidationError", schema=VALIDATION_ERROR
        )
        self.registry.register_on_missing(validation)
        # A field that fails validation is a 400 in the ValidationError shape; a malformed body is one in Error's.
        return {"anyOf": [validation.ref, error]}


def if_match_parameter() -> OpenApiParameter:
    """Return the If-Match request header of a write that answers 412 when the ETag it names is no longer current."""
    return OpenApiParameter(
        "If-Match",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="An ETag last received for this resource, or *: refused with 412 unless it is still current.",
    )
