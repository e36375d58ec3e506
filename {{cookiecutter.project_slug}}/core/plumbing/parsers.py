"""How request data is read: JSON bodies with orjson, query strings and forms as JSON would carry them.

The body size and nesting depth limits of JSON bodies are enforced before DRF sees the data.
"""

from collections.abc import Mapping
from typing import IO, Any

import orjson
from django.conf import settings
from django.http import QueryDict
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser

# The fields read from a repeated name (?tag=a&tag=b, or a form's repeated field); any other takes one value.
LIST_FIELDS = (serializers.ListField, serializers.MultipleChoiceField)


def plain_values(data: QueryDict, fields: Mapping[str, serializers.Field[Any, Any, Any, Any]]) -> dict[str, Any]:
    """Return the fields' values in a query string or form as a JSON body carries them: one value, or a list.

    An empty value stays a value, validated as in JSON, where DRF reads one of an optional field as left out.
    """
    return {
        name: data.getlist(name) if isinstance(field, LIST_FIELDS) else data[name]
        for name, field in fields.items()
        if name in data
    }


class RequestTooLarge(APIException):
    """The request body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "request_too_large"


def nesting_exceeds(data: Any, limit: int) -> bool:
    """Return whether arrays and objects in the decoded data nest more than ``limit`` levels deep."""
    # Level by level rather than recursively: walking a hostile body must not itself hit the recursion limit, and
    # the same limit keeps DRF's recursive field validation far from it.
    level = [data] if isinstance(data, list | dict) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [
            child
            for container in level
            for child in (container.values() if isinstance(container, dict) else container)
            if isinstance(child, list | dict)
        ]
    return False


class ORJSONParser(BaseParser):
    """Parse JSON bodies with orjson."""

    media_type = "application/json"

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        """Return the decoded body, refusing one that is too large, nested too deep, or not JSON."""
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        # DRF hands parsers the raw request stream, which skips Django's own size check: read one byte past
        # the limit to tell an oversized body from one exactly at it.
        body = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(body) > limit:
            raise RequestTooLarge
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if nesting_exceeds(data, settings.API_MAX_JSON_DEPTH):
            raise ParseError(f"JSON nested deeper than {settings.API_MAX_JSON_DEPTH} levels.")
        return data
