"""Bad input gets a JSON 4xx that says what is wrong, never a 500."""

import pytest
from rest_framework.test import APIClient

from api.factories import ArticleFactory
from api.models import Author

pytestmark = pytest.mark.django_db

BAD_READS = [
    ("/api/articles/?cursor=not-a-cursor", 400, "cursor"),
    ("/api/articles/?cursor=WyJ0aXRsZSIsZmFsc2UsWyJ4IiwxXV0", 400, "cursor"),  # a cursor made for ?ordering=title
    ("/api/articles/?cursor=WyItaWQiLHRydWUsWzFdXQ", 400, "cursor"),  # well-formed JSON, foreign ordering
    ("/api/articles/?page_size=101", 400, "page_size"),
    ("/api/articles/?page_size=-1", 400, "page_size"),
    ("/api/articles/?page_size=0", 400, "page_size"),
    ("/api/articles/?ordering=body", 400, "ordering"),
    ("/api/articles/?ordering=-title", 400, "ordering"),
    ("/api/articles/?tag=no-such-tag", 400, "tag"),
    ("/api/articles/?tag=a%00b", 400, "tag"),
    ("/api/articles/?author=abc", 400, "author"),
    ("/api/articles/?author=1%00", 400, "author"),
    ("/api/articles/?author=99999999999999999999", 400, "author"),
    ("/api/articles/abc/", 404, "detail"),
    ("/api/articles/99999999999999999999999/", 404, "detail"),
    ("/api/articles/99999999999999999999999/comments/", 404, "detail"),
    ("/api/authors/0/", 404, "detail"),
]


@pytest.mark.parametrize(("url", "status", "field"), BAD_READS)
def test_bad_reads_get_a_json_4xx(api_client: APIClient, url: str, status: int, field: str) -> None:
    ArticleFactory.create()

    response = api_client.get(url)

    assert response.status_code == status
    assert field in response.json()


def test_a_cursor_with_a_nul_byte_is_a_400(api_client: APIClient) -> None:
    ArticleFactory.create()
    # ["title", false, ["a\u0000", 1]]
    cursor = "WyJ0aXRsZSIsZmFsc2UsWyJhXHUwMDAwIiwxXV0"

    response = api_client.get("/api/articles/", {"ordering": "title", "cursor": cursor})

    assert response.status_code == 400
    assert response.json() == {"cursor": ["Invalid cursor."]}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        (b'{"title": "x", "body": ', "application/json", 400, "detail"),
        (b'{"body": "no title", "status": "draft"}', "application/json", 400, "title"),
        (b'{"title": "a\\u0000b", "body": "x"}', "application/json", 400, "title"),
        (b'{"title": "x", "body": "x", "tags": ["no-such-tag"]}', "application/json", 400, "tags"),
        (b'{"title": "x", "body": "x", "status": "secret"}', "application/json", 400, "status"),
        (b'{"title": "x", "body": "x", "slug": "not a slug"}', "application/json", 400, "slug"),
        (b"[1, 2]", "application/json", 400, "non_field_errors"),
        (b"title=x", "text/plain", 415, "detail"),
    ],
)
def test_bad_article_bodies_get_a_json_4xx(
    writer_client: APIClient, writer_author: Author, body: bytes, content_type: str, status: int, field: str
) -> None:
    response = writer_client.generic("POST", "/api/articles/", body.decode(), content_type=content_type)

    assert response.status_code == status
    assert field in response.json()


@pytest.mark.parametrize("padding", ["\f", " ", "\u00a0"])
def test_a_title_over_its_maximum_is_refused_even_when_trimming_its_whitespace_would_bring_it_under(
    writer_client: APIClient, writer_author: Author, padding: str
) -> None:
    title = padding + "x" * 200  # the schema's maxLength is 200, and it counts what is sent

    response = writer_client.post("/api/articles/", {"title": title, "body": "x"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"title": ["Ensure this field has no more than 200 characters."]}


def test_a_body_over_the_size_limit_is_a_413(writer_client: APIClient, writer_author: Author) -> None:
    body = b'{"title": "x", "body": "' + b"x" * 1_100_000 + b'"}'

    response = writer_client.generic("POST", "/api/articles/", body.decode(), content_type="application/json")

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_a_form_body_over_the_size_limit_is_a_413_too(writer_client: APIClient, writer_author: Author) -> None:
    body = "title=x&body=" + "x" * 1_100_000

    response = writer_client.generic("POST", "/api/articles/", body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


@pytest.mark.parametrize(
    "body",
    [b'{"author_name": "Ann"}', b'{"author_name": "A\\u0000", "body": "x"}', b'{"author_name": "Ann", "body": ""}'],
)
def test_bad_comments_get_a_400(api_client: APIClient, body: bytes) -> None:
    article = ArticleFactory.create()

    url = f"/api/articles/{article.pk}/comments/"
    response = api_client.generic("POST", url, body.decode(), content_type="application/json")

    assert response.status_code == 400
