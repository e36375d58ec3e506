"""GET /api/articles/export/: every published article streamed as NDJSON or CSV, to signed-in users only."""

import csv
import io
import warnings
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.db import connection
from django.http import HttpResponseBase, StreamingHttpResponse
from django.test import AsyncClient
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from api.export import COLUMNS, neutralise_formula
from api.factories import ArticleFactory, AuthorFactory, TagFactory
from api.models import Article
from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db

URL = "/api/articles/export/"


def streamed(response: Any) -> bytes:
    """Return the whole body of a streamed response, checking it was streamed."""
    assert isinstance(response, StreamingHttpResponse), type(response)
    return b"".join(response.streaming_content)  # type: ignore[arg-type]  # bytes: the export yields bytes


def ndjson(response: Any) -> list[dict[str, Any]]:
    """Return the objects of an NDJSON body, one a line."""
    return [orjson.loads(line) for line in streamed(response).splitlines()]


def csv_rows(response: Any) -> list[list[str]]:
    """Return the rows of a CSV body, its header first."""
    return list(csv.reader(io.StringIO(streamed(response).decode(), newline="")))


def newest_first(count: int) -> list[Article]:
    """Create ``count`` published articles an hour apart, and return them newest first."""
    now = timezone.now()
    return [ArticleFactory.create(published_at=now - timedelta(hours=n)) for n in range(count)]


def test_export_streams_every_published_article_as_ndjson_newest_first(writer_client: APIClient) -> None:
    articles = newest_first(3)
    ArticleFactory.create(status=Article.Status.DRAFT, published_at=None)

    response = writer_client.get(URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    rows = ndjson(response)
    assert [row["id"] for row in rows] == [article.pk for article in articles]
    assert list(rows[0]) == list(COLUMNS)
    first = articles[0]
    assert rows[0]["author_id"] == first.author_id
    assert rows[0]["author_name"] == first.author.name
    assert rows[0]["published_at"].endswith("Z")


def test_export_lists_each_articles_tag_names_in_name_order(writer_client: APIClient) -> None:
    now = timezone.now()
    ArticleFactory.create(published_at=now, tags=[TagFactory.create(name="zebra"), TagFactory.create(name="apple")])
    ArticleFactory.create(published_at=now - timedelta(hours=1))

    rows = ndjson(writer_client.get(URL))

    assert [row["tags"] for row in rows] == [["apple", "zebra"], []]


def test_export_is_an_uncached_attachment(writer_client: APIClient) -> None:
    response = writer_client.get(URL, {"format": "csv"})

    assert response["Content-Disposition"] == 'attachment; filename="articles.csv"'
    assert set(response["Cache-Control"].split(", ")) == {"private", "no-store"}


def test_export_as_csv_has_a_header_and_one_row_per_article(writer_client: APIClient) -> None:
    articles = newest_first(2)
    articles[0].tags.add(TagFactory.create(name="a"), TagFactory.create(name="b"))

    response = writer_client.get(URL, {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    header, *rows = csv_rows(response)
    assert header == list(COLUMNS)
    assert [int(row[0]) for row in rows] == [article.pk for article in articles]
    assert rows[0][COLUMNS.index("tags")] == "a|b"


def test_export_as_csv_quotes_commas_quotes_and_line_breaks(writer_client: APIClient) -> None:
    title = 'Fast, "cached"\nand streamed'
    ArticleFactory.create(title=title)

    body = streamed(writer_client.get(URL, {"format": "csv"}))

    assert b'"Fast, ""cached""\nand streamed"' in body
    assert body.endswith(b"\r\n")
    assert csv_rows(writer_client.get(URL, {"format": "csv"}))[1][COLUMNS.index("title")] == title


@pytest.mark.parametrize("formula", ["=HYPERLINK(1)", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_export_as_csv_defuses_cells_a_spreadsheet_would_run(writer_client: APIClient, formula: str) -> None:
    ArticleFactory.create(title=formula, author=AuthorFactory.create(name=formula))

    row = csv_rows(writer_client.get(URL, {"format": "csv"}))[1]

    assert row[COLUMNS.index("title")] == f"'{formula}"
    assert row[COLUMNS.index("author_name")] == f"'{formula}"


def test_export_as_ndjson_keeps_text_as_written(writer_client: APIClient) -> None:
    ArticleFactory.create(title="=1+1")

    assert ndjson(writer_client.get(URL))[0]["title"] == "=1+1"


def test_neutralise_formula_leaves_ordinary_text_alone() -> None:
    assert neutralise_formula("Fast APIs = cached bytes") == "Fast APIs = cached bytes"


def test_export_refuses_anonymous_requests_with_a_json_401(api_client: APIClient) -> None:
    response = api_client.get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_export_accepts_a_session(client: Any, writer: User) -> None:
    client.force_login(writer)
    ArticleFactory.create()

    assert len(ndjson(client.get(URL))) == 1


@pytest.mark.parametrize("export_format", ["xml", "json", "CSV", ""])
def test_export_refuses_an_unknown_format_with_a_json_400(writer_client: APIClient, export_format: str) -> None:
    response = writer_client.get(URL, {"format": export_format})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "format" in response.json()


def test_export_is_throttled_per_user(writer: User, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"export": "2/hour"})
    client = token_client(writer)

    statuses = [client.get(URL).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert client.get(URL).json()["code"] == "throttled"


@pytest.mark.parametrize("count", [3, 300])
def test_export_reads_rows_and_tags_in_the_same_queries_for_3_and_300_articles(
    writer_client: APIClient, django_assert_num_queries: DjangoAssertNumQueries, count: int
) -> None:
    tags = TagFactory.create_batch(3)
    author = AuthorFactory.create()
    now = timezone.now()
    for n in range(count):
        ArticleFactory.create(author=author, published_at=now - timedelta(minutes=n), tags=tags[: n % 4])

    # The token, the articles and their tags: the body is read inside the block, where the queries run.
    with django_assert_num_queries(3):
        rows = ndjson(writer_client.get(URL))

    assert len(rows) == count


def test_export_reads_every_row_without_server_side_cursors(
    writer_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As behind pgbouncer in transaction mode: the whole result is then read at once (no constant memory).
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    articles = newest_first(3)

    assert [row["id"] for row in ndjson(writer_client.get(URL))] == [article.pk for article in articles]


def test_export_under_asgi_streams_without_reading_every_row_first(writer: User) -> None:
    articles = newest_first(3)
    token = Token.objects.create(user=writer).key

    async def export() -> bytes:
        response: HttpResponseBase = await AsyncClient().get(URL, headers={"Authorization": f"Token {token}"})
        assert isinstance(response, StreamingHttpResponse)
        content = response.streaming_content
        assert isinstance(content, AsyncIterator), "a synchronous iterator is read whole under ASGI"
        return b"".join([bytes(chunk) async for chunk in content])

    # Django warns when it must read a synchronous iterator whole to send it under ASGI.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        body = async_to_sync(export)()

    assert [orjson.loads(line)["id"] for line in body.splitlines()] == [article.pk for article in articles]
