"""Every list and text a client sends is bounded and typed: exactly at a limit is accepted, one past it is a 400."""

import io
from typing import Any

import orjson
import pytest
from django.conf import settings
from pytest_django import DjangoAssertNumQueries
from rest_framework.exceptions import ParseError
from rest_framework.test import APIClient

from api.factories import ArticleFactory, TagFactory
from api.models import Article, Author, Tag
from api.serializers import ArticleWriteSerializer
from core.plumbing.parsers import ORJSONParser, nesting_exceeds

pytestmark = pytest.mark.django_db

ARTICLE = {"title": "Bounded", "body": "Small.", "status": "published"}
COMMENT = {"author_name": "Ann", "body": "Nice."}


def nested(depth: int) -> Any:
    """Return a list holding a list ... ``depth`` levels deep, the innermost empty."""
    data: list[Any] = []
    for _ in range(depth - 1):
        data = [data]
    return data


def post_json(client: APIClient, url: str, data: Any) -> Any:
    """Return the response to a POST of ``data`` as a JSON body."""
    return client.generic("POST", url, orjson.dumps(data).decode(), content_type="application/json")


@pytest.fixture
def tags() -> list[Tag]:
    """Return one more tag than an article may have."""
    return TagFactory.create_batch(settings.API_MAX_TAGS + 1)


def test_an_article_takes_exactly_the_maximum_number_of_tags(
    writer_client: APIClient, writer_author: Author, tags: list[Tag]
) -> None:
    slugs = [tag.slug for tag in tags[: settings.API_MAX_TAGS]]

    response = post_json(writer_client, "/api/articles/", {**ARTICLE, "tags": slugs})

    assert response.status_code == 201, response.content
    assert len(response.json()["tags"]) == settings.API_MAX_TAGS


def test_one_tag_past_the_maximum_is_a_400(writer_client: APIClient, writer_author: Author, tags: list[Tag]) -> None:
    response = post_json(writer_client, "/api/articles/", {**ARTICLE, "tags": [tag.slug for tag in tags]})

    assert response.status_code == 400
    assert response.json() == {"tags": [f"Ensure this field has no more than {settings.API_MAX_TAGS} elements."]}


def test_tag_slugs_are_resolved_in_one_query_whatever_their_number(
    tags: list[Tag], django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    serializer = ArticleWriteSerializer(data={**ARTICLE, "tags": [tag.slug for tag in tags[: settings.API_MAX_TAGS]]})

    with django_assert_num_queries(1):
        assert serializer.is_valid(), serializer.errors

    assert len(serializer.validated_data["tags"]) == settings.API_MAX_TAGS


def test_a_huge_tag_list_is_refused_before_any_query(django_assert_num_queries: DjangoAssertNumQueries) -> None:
    serializer = ArticleWriteSerializer(data={**ARTICLE, "tags": [f"tag-{n}" for n in range(100_000)]})

    with django_assert_num_queries(0):
        assert not serializer.is_valid()


def test_unknown_tag_slugs_are_named_in_the_400(writer_client: APIClient, writer_author: Author) -> None:
    TagFactory.create(slug="django")

    response = post_json(writer_client, "/api/articles/", {**ARTICLE, "tags": ["django", "nope", "also-nope"]})

    assert response.status_code == 400
    assert response.json() == {"tags": ["No tag has the slug 'also-nope', 'nope'."]}


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (["a\u0000b"], "Item 0: Null characters are not allowed."),
        (["ok", 1], "Item 1: Not a valid string."),
        ([None], "Item 0: This field may not be null."),
        ([{"slug": "x"}], "Item 0: Not a valid string."),
        ([["django"]], "Item 0: Not a valid string."),
        ("django", 'Expected a list of items but got type "str".'),
    ],
)
def test_tags_that_are_not_a_list_of_slugs_are_a_400(
    writer_client: APIClient, writer_author: Author, tags: Any, message: str
) -> None:
    response = post_json(writer_client, "/api/articles/", {**ARTICLE, "tags": tags})

    assert response.status_code == 400
    assert message in response.json()["tags"]


@pytest.mark.parametrize("field", ["title", "body", "slug"])
@pytest.mark.parametrize("value", [123, 1.5, True, ["x"], {"x": 1}])
def test_article_text_fields_take_strings_only(
    writer_client: APIClient, writer_author: Author, field: str, value: Any
) -> None:
    response = post_json(writer_client, "/api/articles/", {**ARTICLE, field: value})

    assert response.status_code == 400
    assert response.json() == {field: ["Not a valid string."]}


@pytest.mark.parametrize("field", ["author_name", "body"])
def test_comment_text_fields_take_strings_only(api_client: APIClient, field: str) -> None:
    article = ArticleFactory.create()

    response = post_json(api_client, f"/api/articles/{article.pk}/comments/", {**COMMENT, field: 123})

    assert response.status_code == 400
    assert response.json() == {field: ["Not a valid string."]}


def test_an_article_body_takes_exactly_the_maximum_length(writer_client: APIClient, writer_author: Author) -> None:
    limit = settings.API_MAX_ARTICLE_BODY

    at_limit = post_json(writer_client, "/api/articles/", {**ARTICLE, "body": "x" * limit})
    past_it = post_json(writer_client, "/api/articles/", {**ARTICLE, "body": "x" * (limit + 1)})

    assert at_limit.status_code == 201
    assert past_it.status_code == 400
    assert past_it.json() == {"body": [f"Ensure this field has no more than {limit} characters."]}
    assert Article.objects.count() == 1


def test_a_patch_is_bounded_like_a_create(writer_client: APIClient, writer_author: Author) -> None:
    article = ArticleFactory.create(author=writer_author)

    response = writer_client.patch(f"/api/articles/{article.pk}/", {"body": "x" * (settings.API_MAX_ARTICLE_BODY + 1)})

    assert response.status_code == 400
    assert "body" in response.json()


@pytest.mark.parametrize(("field", "limit"), [("body", settings.API_MAX_COMMENT_BODY), ("author_name", 100)])
def test_comment_fields_take_exactly_their_maximum_length(api_client: APIClient, field: str, limit: int) -> None:
    article = ArticleFactory.create()
    url = f"/api/articles/{article.pk}/comments/"

    at_limit = post_json(api_client, url, {**COMMENT, field: "x" * limit})
    past_it = post_json(api_client, url, {**COMMENT, field: "x" * (limit + 1)})

    assert at_limit.status_code == 201
    assert past_it.status_code == 400
    assert past_it.json() == {field: [f"Ensure this field has no more than {limit} characters."]}


def test_the_parser_takes_a_body_nested_exactly_to_the_limit() -> None:
    body = orjson.dumps(nested(settings.API_MAX_JSON_DEPTH))

    assert ORJSONParser().parse(io.BytesIO(body)) == nested(settings.API_MAX_JSON_DEPTH)


def test_the_parser_refuses_a_body_nested_one_level_past_the_limit() -> None:
    body = orjson.dumps({"tags": nested(settings.API_MAX_JSON_DEPTH)})

    with pytest.raises(ParseError, match=f"nested deeper than {settings.API_MAX_JSON_DEPTH} levels"):
        ORJSONParser().parse(io.BytesIO(body))


def test_nesting_is_measured_without_recursion() -> None:
    assert nesting_exceeds(nested(100_000), 99_999)
    assert not nesting_exceeds(nested(100_000), 100_000)


@pytest.mark.parametrize("depth", [500, 1_023])
def test_deeply_nested_tags_are_a_400_not_a_500(writer_client: APIClient, writer_author: Author, depth: int) -> None:
    body = b'{"title": "x", "body": "x", "tags": ' + b"[" * depth + b"]" * depth + b"}"

    response = writer_client.generic("POST", "/api/articles/", body.decode(), content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": f"JSON nested deeper than {settings.API_MAX_JSON_DEPTH} levels.",
        "code": "parse_error",
    }
