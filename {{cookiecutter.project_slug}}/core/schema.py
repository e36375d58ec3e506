"""OpenAPI descriptions of the toolkit's conventions, for ``extend_schema`` on views that use them."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers

from core.pagination import CURSOR_PARAM, PAGE_SIZE_PARAM, KeysetPagination


def keyset_parameters(pages: KeysetPagination) -> list[OpenApiParameter]:
    """Return the query parameters of a list paginated by ``pages``."""
    return [
        OpenApiParameter(CURSOR_PARAM, OpenApiTypes.STR, description="Opaque cursor from a next or previous link."),
        OpenApiParameter(PAGE_SIZE_PARAM, OpenApiTypes.INT, description="Rows per page, from 1 to the maximum."),
        OpenApiParameter("ordering", OpenApiTypes.STR, enum=list(pages.orderings), default=pages.default),
    ]


def keyset_page(name: str, item: type[serializers.Serializer[Any]]) -> serializers.Serializer[Any]:
    """Return the documented shape of a keyset page of ``item`` rows."""
    link = "Relative URL of the {} page, or null."
    return inline_serializer(
        name=f"{name}Page",
        fields={
            "next": serializers.CharField(allow_null=True, help_text=link.format("next")),
            "previous": serializers.CharField(allow_null=True, help_text=link.format("previous")),
            "results": item(many=True),
        },
    )
