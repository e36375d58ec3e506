"""Refresh-ahead on the example API: after an article changes, its lists' first pages are hits with the change.

These tests commit for real and run the refresh in-process (tests/core/test_refresh_ahead.py pins the mechanism).
"""

import logging

import pytest
from django.conf import settings as django_settings
from pytest_django import DjangoAssertNumQueries
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from api.factories import ArticleFactory
from api.models import Article, Author
from core.toolkit import refresh
from core.toolkit.caching import version_key
from core.toolkit.http import CACHE_OUTCOME, HIT, MISS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _refresh_ahead_on(settings: Settings) -> None:
    """Turn refresh-ahead on, as it is by default with a worker."""
    settings.API_REFRESH_AHEAD = True


def first_title(client: APIClient, url: str = "/api/articles/") -> tuple[str, str]:
    """Return the title of the list's first article and how the cache answered."""
    response = client.get(url)
    return response.json()["results"][0]["title"], getattr(response, CACHE_OUTCOME)


def test_the_public_lists_reading_articles_are_refreshed_and_the_writer_s_own_list_is_not() -> None:
    lists = refresh.refreshable_lists(django_settings.ROOT_URLCONF)

    assert lists[version_key(Article)] == ("/api/articles/", "/api/authors/", "/api/tags/")
    assert "/api/me/articles/" not in {path for paths in lists.values() for path in paths}


def test_after_a_patch_the_next_read_of_the_article_list_is_a_hit_with_the_new_title(
    writer_client: APIClient,
    writer_author: Author,
    api_client: APIClient,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    article = ArticleFactory.create(author=writer_author)
    first_title(api_client)

    assert writer_client.patch(f"/api/articles/{article.pk}/", {"title": "Refreshed ahead"}).status_code == 200

    with django_assert_num_queries(0):
        assert first_title(api_client) == ("Refreshed ahead", HIT)


def test_with_refresh_ahead_off_the_next_reader_of_the_list_rebuilds_it(
    writer_client: APIClient, writer_author: Author, api_client: APIClient, settings: Settings
) -> None:
    settings.API_REFRESH_AHEAD = False
    article = ArticleFactory.create(author=writer_author)
    first_title(api_client)

    writer_client.patch(f"/api/articles/{article.pk}/", {"title": "Rebuilt by its reader"})

    assert first_title(api_client) == ("Rebuilt by its reader", MISS)


def test_a_failing_refresh_leaves_the_write_answered_200_and_is_logged(
    writer_client: APIClient,
    writer_author: Author,
    api_client: APIClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    article = ArticleFactory.create(author=writer_author)

    def fail(path: str) -> str:
        raise RuntimeError("rebuild failed")

    monkeypatch.setattr(refresh, "refresh", fail)
    with caplog.at_level(logging.ERROR, logger="core.tasks"):
        patched = writer_client.patch(f"/api/articles/{article.pk}/", {"title": "Written anyway"})

    assert patched.status_code == 200
    assert "Refresh-ahead of /api/articles/ failed" in caplog.text
    assert first_title(api_client) == ("Written anyway", MISS)
