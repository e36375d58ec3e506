"""Changing an article one may not change: someone else's draft is a 404 exactly as on GET, not a 403."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from api.factories import ArticleFactory, AuthorFactory
from api.models import Article, Author
from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db

WRITES = [("patch", {"title": "Mine now"}), ("put", {"title": "Mine now", "body": "x"}), ("delete", None)]


@pytest.fixture
def their_draft() -> Article:
    """Return another author's draft."""
    return ArticleFactory.create(status=Article.Status.DRAFT, published_at=None)


@pytest.mark.parametrize(("method", "body"), WRITES)
def test_a_write_to_someone_elses_draft_is_the_404_of_a_missing_article(
    writer_client: APIClient, api_client: APIClient, their_draft: Article, method: str, body: dict[str, str] | None
) -> None:
    missing = their_draft.pk + 1000

    on_draft = getattr(writer_client, method)(f"/api/articles/{their_draft.pk}/", body)
    on_missing = getattr(writer_client, method)(f"/api/articles/{missing}/", body)
    on_get = api_client.get(f"/api/articles/{their_draft.pk}/")

    assert on_draft.status_code == on_missing.status_code == on_get.status_code == 404
    assert on_draft.json() == on_missing.json() == on_get.json()
    assert Article.objects.get(pk=their_draft.pk).title == their_draft.title


@pytest.mark.parametrize(("method", "body"), WRITES)
def test_a_write_to_someone_elses_published_article_is_a_403(
    writer_client: APIClient, method: str, body: dict[str, str] | None
) -> None:
    theirs = ArticleFactory.create()

    response = getattr(writer_client, method)(f"/api/articles/{theirs.pk}/", body)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_the_author_and_staff_may_change_a_draft(
    writer_client: APIClient, writer_author: Author, staff_user: User
) -> None:
    draft = ArticleFactory.create(author=writer_author, status=Article.Status.DRAFT, published_at=None)
    theirs = ArticleFactory.create(author=AuthorFactory.create(), status=Article.Status.DRAFT, published_at=None)

    mine = writer_client.patch(f"/api/articles/{draft.pk}/", {"title": "Still a draft"})
    by_staff = token_client(staff_user).patch(f"/api/articles/{theirs.pk}/", {"title": "Edited by staff"})

    assert mine.status_code == 200
    assert mine.json()["title"] == "Still a draft"
    assert by_staff.status_code == 200
