"""With the cache unreachable, reads still answer 200 from the database and writes still succeed."""

from collections.abc import Iterator

import pytest
from django.core.cache import caches
from django.test import override_settings
from rest_framework.test import APIClient

from api.factories import ArticleFactory, TagFactory
from api.models import Author
from settings.base import cache_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def unreachable_redis(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the default cache at a Redis port nothing listens on, with the project's own Redis options."""
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    with override_settings(CACHES={"default": cache_settings()}):
        yield
    caches["default"].close()


@pytest.mark.usefixtures("unreachable_redis")
def test_reads_answer_from_the_database_when_redis_is_unreachable(api_client: APIClient) -> None:
    article = ArticleFactory.create(tags=[TagFactory.create()])

    for url in ["/api/articles/", f"/api/articles/{article.pk}/", "/api/stats/", "/api/tags/"]:
        response = api_client.get(url)
        assert response.status_code == 200, url
    assert api_client.get("/api/articles/999999/").status_code == 404


@pytest.mark.usefixtures("unreachable_redis")
def test_writes_succeed_when_redis_is_unreachable(writer_client: APIClient, writer_author: Author) -> None:
    response = writer_client.post("/api/articles/", {"title": "Still works", "body": "x", "status": "published"})

    assert response.status_code == 201
