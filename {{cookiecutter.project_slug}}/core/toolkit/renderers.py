"""JSON rendering with orjson instead of the standard library's json module; indented when a reader asks."""

from collections.abc import Mapping
from typing import Any

import orjson
from django.utils.http import parse_header_parameters
from rest_framework.renderers import BaseRenderer
from rest_framework.utils.encoders import JSONEncoder

# orjson serializes str, int, float, bool, None, dict, list, datetime, date, time and UUID natively; DRF's encoder
# covers the rest (Decimal, lazy translations, timedelta, querysets, generators).
_fallback = JSONEncoder().default
# Integer dictionary keys are legal in Python data and common in aggregates. UTC times end in "Z", as DRF's
# DateTimeField writes them, so values() rows and serializer output look the same.
OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z
# orjson indents by two spaces or not at all, whatever width was asked for.
INDENTED = OPTIONS | orjson.OPT_INDENT_2


def dumps(data: Any) -> bytes:
    """Return data as compact UTF-8 JSON bytes."""
    return orjson.dumps(data, default=_fallback, option=OPTIONS)


class ORJSONRenderer(BaseRenderer):
    """Render JSON with orjson; the only renderer outside local development."""

    media_type = "application/json"
    format = "json"
    charset = None

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        """Return the rendered body: empty for no data (a 204, say), indented when asked for."""
        if data is None:
            return b""
        if _asks_for_indent(accepted_media_type, renderer_context):
            return orjson.dumps(data, default=_fallback, option=INDENTED)
        return dumps(data)


def _asks_for_indent(accepted_media_type: str | None, renderer_context: Mapping[str, Any] | None) -> bool:
    """Return whether the context (the browsable API's) or the media type (``; indent=4``) asks for an indent."""
    if renderer_context is not None and renderer_context.get("indent"):
        return True
    # The common case, a bare media type, is decided without parsing it.
    if accepted_media_type is None or ";" not in accepted_media_type:
        return False
    indent = parse_header_parameters(accepted_media_type)[1].get("indent", "")
    return indent.isdecimal() and int(indent) > 0
