"""With the database unavailable, a read whose entry is outdated or expired answers with it, marked stale."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from django.test import RequestFactory
from rest_framework.test import APIClient

from api.factories import ArticleFactory, CommentFactory
from api.models import Article
from api.views import ArticleDetailView
from core.toolkit.caching import CachedResponse, bump_versions

pytestmark = pytest.mark.django_db

DATABASE_DOWN = [OperationalError("pool timeout"), InterfaceError("connection already closed")]


def database_down(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """Make the detail's selector fail as it does when the database cannot be reached."""

    def fail(**kwargs: object) -> None:
        raise error

    monkeypatch.setattr("api.views.article_detail", fail)


def detail_key(article_id: int) -> str:
    """Return the cache key of an article's public detail."""
    url = f"/api/articles/{article_id}/"
    return ArticleDetailView().cache_key(RequestFactory().get(url), {"pk": article_id}, scope="public")


@pytest.mark.parametrize("error", DATABASE_DOWN, ids=type)
def test_an_outdated_detail_is_served_marked_stale_when_the_database_is_down(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    article = ArticleFactory.create()
    good = api_client.get(f"/api/articles/{article.pk}/")
    bump_versions(Article)  # a write the entry has not seen yet
    database_down(monkeypatch, error)

    response = api_client.get(f"/api/articles/{article.pk}/")

    assert response.status_code == 200
    assert response.content == good.content
    assert response["Cache-Status"] == f"{settings.API_CACHE_NAME}; hit; detail=stale"
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert not response.has_header("ETag")


def test_an_expired_detail_is_served_marked_stale_when_the_database_is_down(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    article = ArticleFactory.create()
    good = api_client.get(f"/api/articles/{article.pk}/")
    entry = cache.get(detail_key(article.pk))
    assert isinstance(entry, CachedResponse)
    cache.set(detail_key(article.pk), entry._replace(expires=0.0))  # past its lifetime, still in the cache
    database_down(monkeypatch, OperationalError("pool timeout"))

    response = api_client.get(f"/api/articles/{article.pk}/")

    assert response.status_code == 200
    assert response.content == good.content
    assert "detail=stale" in response["Cache-Status"]


def test_with_no_entry_to_fall_back_on_the_database_error_is_not_hidden(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    article = ArticleFactory.create()
    database_down(monkeypatch, OperationalError("pool timeout"))
    api_client.raise_request_exception = False

    response = api_client.get(f"/api/articles/{article.pk}/")

    assert response.status_code >= 500
    assert not response.has_header("Cache-Status")


def test_a_current_entry_is_served_as_a_plain_hit_when_the_database_is_down(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    article = ArticleFactory.create()
    api_client.get(f"/api/articles/{article.pk}/")
    database_down(monkeypatch, OperationalError("pool timeout"))

    response = api_client.get(f"/api/articles/{article.pk}/")

    assert response.status_code == 200
    assert not response.has_header("Cache-Status")
    assert response.has_header("ETag")


def test_a_stale_list_is_served_when_its_rebuild_fails_on_the_database(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    CommentFactory.create()
    good = api_client.get("/api/articles/")
    bump_versions(Article)

    def fail(**kwargs: object) -> None:
        raise OperationalError("pool timeout")

    monkeypatch.setattr("api.views.published_articles", fail)
    response = api_client.get("/api/articles/")

    assert response.status_code == 200
    assert response.content == good.content
    assert "detail=stale" in response["Cache-Status"]
