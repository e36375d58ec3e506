"""The lists' query parameters: the view takes what the OpenAPI document allows and refuses, with a 400, the rest.

Each boundary the document draws (``page_size`` from 1 to ``API_MAX_PAGE_SIZE``, a non-empty cursor, a non-empty
tag) is checked on both sides against the view, so that a fuzzer sending what the document allows never meets a
refusal it could not expect.
"""

from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from api.factories import ArticleFactory, AuthorFactory, CommentFactory, TagFactory
from api.models import Article, Author

pytestmark = pytest.mark.django_db

LISTS = ["/api/articles/", "/api/articles/{id}/comments/", "/api/authors/", "/api/tags/", "/api/me/articles/"]


def query_schemas(document: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    """Return the schema of each query parameter of the GET operation at path, by name."""
    parameters = document["paths"][path]["get"]["parameters"]
    return {parameter["name"]: parameter["schema"] for parameter in parameters if parameter["in"] == "query"}


@pytest.fixture
def article(writer_author: Author) -> Article:
    """Return a published article of the writer's, with rows enough that every list has a second page of one."""
    article = ArticleFactory.create(author=writer_author, tags=TagFactory.create_batch(2))
    ArticleFactory.create(author=writer_author)
    AuthorFactory.create()
    CommentFactory.create_batch(2, article=article)
    return article


@pytest.mark.parametrize("path", LISTS)
def test_list_documents_page_size_from_1_to_the_maximum_setting(document: dict[str, Any], path: str) -> None:
    page_size = query_schemas(document, path)["page_size"]

    assert page_size == {"type": "integer", "minimum": 1, "maximum": settings.API_MAX_PAGE_SIZE}


@pytest.mark.parametrize("path", LISTS)
def test_list_takes_the_documented_page_sizes_and_refuses_the_next_ones(
    writer_client: APIClient, article: Article, path: str
) -> None:
    url = path.format(id=article.pk)
    maximum = settings.API_MAX_PAGE_SIZE

    statuses = [writer_client.get(url, {"page_size": size}).status_code for size in (0, 1, maximum, maximum + 1)]

    assert statuses == [400, 200, 200, 400]


@pytest.mark.parametrize("path", LISTS)
def test_list_documents_a_cursor_of_url_safe_base64_and_refuses_any_other(
    document: dict[str, Any], writer_client: APIClient, article: Article, path: str
) -> None:
    url = path.format(id=article.pk)
    next_link = writer_client.get(url, {"page_size": 1}).json()["next"]
    cursor = next_link.split("cursor=")[1]
    # b64decode would skip the stray character and decode the rest: the document's pattern refuses it.
    damaged = f"{cursor[:4]}.{cursor[4:]}"

    assert query_schemas(document, path)["cursor"] == {
        "type": "string", "minLength": 1, "maxLength": 1000, "pattern": "^[A-Za-z0-9_-]+$",
    }  # fmt: skip
    assert writer_client.get(next_link).status_code == 200
    assert writer_client.get(url, {"cursor": ""}).status_code == 400
    assert writer_client.get(url, {"cursor": damaged}).status_code == 400


@pytest.mark.parametrize("name", ["tag", "author"])
def test_article_list_refuses_an_empty_filter_as_the_document_does(
    document: dict[str, Any], api_client: APIClient, name: str
) -> None:
    schema = query_schemas(document, "/api/articles/")[name]

    response = api_client.get("/api/articles/", {name: ""})

    assert schema.get("minLength") == 1 or schema["type"] == "integer"
    assert response.status_code == 400
    assert list(response.json()) == [name]
