"""Pagination that refuses a bad page size instead of silently changing it: page numbers, and keyset cursors.

``KeysetPagination`` is the one for large or hot lists. A cursor holds the ordering values of the row it starts
from, so every page is an index range scan of ``page_size + 1`` rows: page 1,000 costs what page 1 does, there is
no ``COUNT(*)``, and rows inserted meanwhile never shift a page.
"""

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlencode

import orjson
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, Q, QuerySet
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

_Model = TypeVar("_Model", bound=Model)
_Row = TypeVar("_Row")

PAGE_SIZE_PARAM = "page_size"
CURSOR_PARAM = "cursor"
MAX_CURSOR_LENGTH = 1000
# What _encode makes: URL-safe base64 without padding. An empty cursor is not one: it is refused, not ignored.
CURSOR_ALPHABET = "A-Za-z0-9_-"
CURSOR_PATTERN = re.compile(f"[{CURSOR_ALPHABET}]+")


def page_size_schema() -> dict[str, Any]:
    """Return the OpenAPI schema of ``?page_size=``: the whole numbers ``page_size_from`` takes."""
    return {"type": "integer", "minimum": 1, "maximum": settings.API_MAX_PAGE_SIZE}


def cursor_schema() -> dict[str, Any]:
    """Return the OpenAPI schema of ``?cursor=``: the strings a cursor is made of."""
    return {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR_LENGTH, "pattern": f"^[{CURSOR_ALPHABET}]+$"}


def page_size_from(request: Request) -> int:
    """Return ``?page_size=`` (the default when absent); raise a 400 unless it is a whole number from 1 to the max."""
    raw = request.query_params.get(PAGE_SIZE_PARAM)
    if raw is None:
        return int(settings.REST_FRAMEWORK["PAGE_SIZE"])
    maximum = settings.API_MAX_PAGE_SIZE
    # isascii() keeps out digits int() rejects ("²"); the length cap keeps out ones too long to convert.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9 and 1 <= int(raw) <= maximum):
        raise ValidationError({PAGE_SIZE_PARAM: [f"Must be a whole number from 1 to {maximum}."]})
    return int(raw)


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's page-number pagination with ``?page_size=`` up to ``API_MAX_PAGE_SIZE``."""

    page_size_query_param = PAGE_SIZE_PARAM

    def __init__(self) -> None:
        self.max_page_size: int = settings.API_MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int | None:
        """Return the requested page size, or raise a 400 when it is not a whole number from 1 to the maximum."""
        return page_size_from(request)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        """Return DRF's page and page size parameters, the page size with the bounds it is held to."""
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == PAGE_SIZE_PARAM:
                parameter["schema"] = page_size_schema()
        return parameters


class KeysetPagination(pagination.BasePagination):
    """Cursor pagination over a ``values()`` queryset, for orderings that end with a unique field.

    A subclass names its orderings: ``?ordering=`` value to model fields, the last one unique (``"-id"``); the
    first is the default. ``keyset()`` makes one. The page is ``{"next", "previous", "results"}``, the links
    relative, keeping the request's other query parameters.
    """

    orderings: ClassVar[Mapping[str, Sequence[str]]] = {}
    ordering_query_param = "ordering"
    cursor_query_param = CURSOR_PARAM
    page_size_query_param = PAGE_SIZE_PARAM

    next: str | None = None
    previous: str | None = None

    @property
    def default_ordering(self) -> str:
        """Return the ordering used when the request names none: the first."""
        return next(iter(self.orderings))

    def ordering_from(self, request: Request) -> str:
        """Return ``?ordering=``, the default when absent, or raise a 400 for one not on the list."""
        ordering = request.query_params.get(self.ordering_query_param, self.default_ordering)
        if ordering not in self.orderings:
            raise ValidationError({self.ordering_query_param: [f"Must be one of: {', '.join(self.orderings)}."]})
        return ordering

    def paginate_queryset(
        self, queryset: QuerySet[_Model, _Row] | Sequence[_Row], request: Request, view: APIView | None = None
    ) -> list[_Row] | None:
        """Return the rows of the page the request's cursor points at, and note the links to its neighbours."""
        if not isinstance(queryset, QuerySet):
            raise TypeError("KeysetPagination pages a queryset of values() rows, not a list.")
        ordering = self.ordering_from(request)
        fields = self.orderings[ordering]
        size = page_size_from(request)
        cursor = self._decode(request.query_params.get(self.cursor_query_param), ordering, fields, queryset)
        backwards = cursor is not None and cursor[0]
        if cursor is not None:
            queryset = queryset.filter(_beyond(fields, cursor[1], backwards))
        order = [_flip(field) for field in fields] if backwards else list(fields)
        rows: list[Any] = list(queryset.order_by(*order)[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        if backwards:
            rows.reverse()
        kept = [(name, request.query_params.getlist(name)) for name in request.query_params if name not in self._own]
        link_params = [*kept, (self.ordering_query_param, [ordering])]
        if self.page_size_query_param in request.query_params:
            link_params.append((self.page_size_query_param, [str(size)]))

        def link(row: dict[str, Any], back: bool) -> str:
            token = self._encode(ordering, back, [row[_name(field)] for field in fields])
            query = urlencode([*link_params, (self.cursor_query_param, [token])], doseq=True)
            return f"{request.path}?{query}"

        has_next = bool(rows) and (backwards or more)
        has_previous = bool(rows) and (more if backwards else cursor is not None)
        self.next = link(rows[-1], back=False) if has_next else None
        self.previous = link(rows[0], back=True) if has_previous else None
        return rows

    def columns(self) -> list[str]:
        """Return the fields a cursor is made of, in every ordering: the columns a page's rows must carry."""
        return list(dict.fromkeys(_name(field) for fields in self.orderings.values() for field in fields))

    @property
    def _own(self) -> tuple[str, ...]:
        """Return the query parameters this paginator reads."""
        return (self.cursor_query_param, self.ordering_query_param, self.page_size_query_param)

    def get_paginated_response(self, data: Sequence[Any]) -> Response:
        """Return the page as a response: ``{"next", "previous", "results"}``."""
        return Response({"next": self.next, "previous": self.previous, "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Return the documented page, around the documented rows."""
        link = "Relative URL of the {} page, or null."
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "description": link.format("next")},
                "previous": {"type": "string", "nullable": True, "description": link.format("previous")},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        """Return the query parameters of a keyset page, bounded by the settings as they are now."""
        return [
            _query_parameter(self.cursor_query_param, cursor_schema(), "Opaque cursor from a next or previous link."),
            _query_parameter(self.page_size_query_param, page_size_schema(), "Rows per page, from 1 to the maximum."),
            _query_parameter(
                self.ordering_query_param,
                {"type": "string", "enum": list(self.orderings), "default": self.default_ordering},
                "Order of the rows.",
            ),
        ]

    @staticmethod
    def _encode(ordering: str, backwards: bool, values: list[Any]) -> str:
        """Return an opaque, URL-safe cursor."""
        return base64.urlsafe_b64encode(orjson.dumps([ordering, backwards, values])).rstrip(b"=").decode()

    @staticmethod
    def _decode(
        raw: str | None, ordering: str, fields: Sequence[str], queryset: QuerySet[Any, Any]
    ) -> tuple[bool, list[Any]] | None:
        """Return (backwards, ordering values) from a cursor, or raise a 400 for one this list did not make."""
        if raw is None:
            return None
        invalid = ValidationError({CURSOR_PARAM: ["Invalid cursor."]})
        # b64decode would skip characters outside its alphabet: refuse them, as the schema's pattern does.
        if len(raw) > MAX_CURSOR_LENGTH or not CURSOR_PATTERN.fullmatch(raw):
            raise invalid
        try:
            decoded = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
            name, backwards, values = decoded
            if name != ordering or not isinstance(backwards, bool) or len(values) != len(fields):
                raise invalid
            if any(isinstance(value, str) and "\x00" in value for value in values):
                raise invalid  # PostgreSQL refuses NUL in text: a 400 here, not a 500 from the database
            model = queryset.model._meta
            return backwards, [model.get_field(_name(f)).to_python(v) for f, v in zip(fields, values, strict=True)]
        except (binascii.Error, ValueError, TypeError, FieldDoesNotExist, DjangoValidationError):
            # orjson.JSONDecodeError is a ValueError, and so is every other kind of malformed cursor.
            raise invalid from None


def keyset(orderings: Mapping[str, Sequence[str]]) -> type[KeysetPagination]:
    """Return a keyset pagination class over these orderings, the first being the default."""
    if not orderings:
        raise ImproperlyConfigured("keyset() needs at least one ordering.")
    return type(f"KeysetPagination[{', '.join(orderings)}]", (KeysetPagination,), {"orderings": dict(orderings)})


def _query_parameter(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    """Return an optional query parameter in OpenAPI's shape."""
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _name(field: str) -> str:
    """Return the field name of an ordering term."""
    return field.removeprefix("-")


def _flip(field: str) -> str:
    """Return the ordering term in the other direction."""
    return _name(field) if field.startswith("-") else f"-{field}"


def _beyond(fields: Sequence[str], values: Sequence[Any], backwards: bool) -> Q:
    """Return the rows strictly past the cursor, in the direction of travel.

    For ``(a, b) > (x, y)`` this is ``a >= x AND (a > x OR b > y)`` rather than ``a > x OR (a = x AND b > y)``:
    the leading range lets the database start an index scan at the cursor instead of filtering from the top.
    """
    field, value = fields[0], values[0]
    op = "lt" if field.startswith("-") != backwards else "gt"
    name = _name(field)
    strictly = Q(**{f"{name}__{op}": value})
    if len(fields) == 1:
        return strictly
    return Q(**{f"{name}__{op}e": value}) & (strictly | _beyond(fields[1:], values[1:], backwards))
