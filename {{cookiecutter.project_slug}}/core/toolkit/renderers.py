"""JSON rendering with orjson instead of the standard library's json module."""

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework.renderers import BaseRenderer
from rest_framework.utils.encoders import JSONEncoder

# orjson serializes str, int, float, bool, None, dict, list, datetime, date, time and UUID natively; DRF's encoder
# covers the rest (Decimal, lazy translations, timedelta, querysets, generators).
_fallback = JSONEncoder().default
# Integer dictionary keys are legal in Python data and common in aggregates. UTC times end in "Z", as DRF's
# DateTimeField writes them, so values() rows and serializer output look the same.
OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z


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
        """Return the rendered body, empty for no data (a 204, say)."""
        if data is None:
            return b""
        return dumps(data)
