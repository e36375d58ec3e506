"""orjson rendering covers every type DRF hands it, and parsing refuses what is not JSON."""

import datetime
import io
import uuid
from decimal import Decimal

import orjson
import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ParseError

from core.plumbing.parsers import ORJSONParser, RequestTooLarge
from core.toolkit.renderers import ORJSONRenderer


def test_renderer_encodes_other_types_as_drf_does() -> None:
    data = {
        "price": Decimal("1.10"),
        "label": gettext_lazy("Not found."),
        "when": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        "id": uuid.UUID(int=1),
        "duration": datetime.timedelta(seconds=90),
        7: "integer key",
    }

    rendered = orjson.loads(ORJSONRenderer().render(data))

    assert rendered == {
        "price": 1.1,
        "label": "Not found.",
        "when": "2026-01-02T03:04:05Z",
        "id": "00000000-0000-0000-0000-000000000001",
        "duration": "90.0",
        "7": "integer key",
    }


def test_renderer_returns_an_empty_body_for_no_data() -> None:
    assert ORJSONRenderer().render(None) == b""


def test_parser_refuses_invalid_json() -> None:
    with pytest.raises(ParseError):
        ORJSONParser().parse(io.BytesIO(b"{not json"))


def test_parser_refuses_a_body_over_the_default_limit() -> None:
    body = b"[" + b"1," * 600_000 + b"1]"

    with pytest.raises(RequestTooLarge):
        ORJSONParser().parse(io.BytesIO(body))
