"""Conditional writes: If-Match with the ETag of the detail the client holds, 412 once the article has changed."""

import pytest
from rest_framework.test import APIClient

from api.factories import ArticleFactory, CommentFactory
from api.models import Article, Author

pytestmark = pytest.mark.django_db


@pytest.fixture
def article(writer_author: Author) -> Article:
    """Return the writer's published article."""
    return ArticleFactory.create(author=writer_author, title="First")


def url(article: Article) -> str:
    """Return the article's detail URL."""
    return f"/api/articles/{article.pk}/"


def test_a_patch_with_the_etag_of_the_get_applies(writer_client: APIClient, article: Article) -> None:
    etag = writer_client.get(url(article))["ETag"]

    response = writer_client.patch(url(article), {"title": "Second"}, headers={"If-Match": etag})

    assert response.status_code == 200
    assert response.json()["title"] == "Second"


def test_a_write_answers_with_the_etag_its_get_then_sends(writer_client: APIClient, article: Article) -> None:
    patched = writer_client.patch(url(article), {"title": "Second"})

    assert patched["ETag"] == writer_client.get(url(article))["ETag"]


@pytest.mark.parametrize(("method", "body"), [("patch", {"title": "Second"}), ("put", {"title": "2", "body": "b"})])
def test_a_change_with_a_stale_etag_is_a_412_and_changes_nothing(
    writer_client: APIClient, article: Article, method: str, body: dict[str, str]
) -> None:
    stale = writer_client.get(url(article))["ETag"]
    writer_client.patch(url(article), {"body": "Changed by someone else."})

    response = getattr(writer_client, method)(url(article), body, headers={"If-Match": stale})

    assert response.status_code == 412
    assert response.json() == {
        "detail": "It changed since the ETag sent in If-Match: fetch it again and reapply the change.",
        "code": "precondition_failed",
    }
    assert Article.objects.get(pk=article.pk).title == "First"


def test_a_delete_with_a_stale_etag_is_a_412_and_with_the_current_one_a_204(
    writer_client: APIClient, article: Article
) -> None:
    stale = writer_client.get(url(article))["ETag"]
    current = writer_client.patch(url(article), {"title": "Second"})["ETag"]

    refused = writer_client.delete(url(article), headers={"If-Match": stale})
    deleted = writer_client.delete(url(article), headers={"If-Match": f'"other", {current}'})

    assert refused.status_code == 412
    assert deleted.status_code == 204
    assert not Article.objects.filter(pk=article.pk).exists()


def test_a_new_comment_changes_the_etag_a_write_must_match(writer_client: APIClient, article: Article) -> None:
    etag = writer_client.get(url(article))["ETag"]
    CommentFactory.create(article=article)

    response = writer_client.patch(url(article), {"title": "Second"}, headers={"If-Match": etag})

    assert response.status_code == 412


def test_a_weak_or_malformed_if_match_never_matches(writer_client: APIClient, article: Article) -> None:
    etag = writer_client.get(url(article))["ETag"]

    weak = writer_client.patch(url(article), {"title": "Second"}, headers={"If-Match": f"W/{etag}"})
    malformed = writer_client.patch(url(article), {"title": "Second"}, headers={"If-Match": "not an etag"})

    assert weak.status_code == malformed.status_code == 412


def test_if_match_star_applies_to_an_existing_article_only(writer_client: APIClient, article: Article) -> None:
    applied = writer_client.patch(url(article), {"title": "Second"}, headers={"If-Match": "*"})
    missing = writer_client.patch("/api/articles/999999/", {"title": "Second"}, headers={"If-Match": "*"})

    assert applied.status_code == 200
    assert missing.status_code == 404


def test_a_draft_is_changed_with_the_etag_of_its_create(writer_client: APIClient, writer_author: Author) -> None:
    created = writer_client.post("/api/articles/", {"title": "Draft", "body": "x", "status": "draft"})
    draft_url = f"/api/articles/{created.json()['id']}/"

    applied = writer_client.patch(draft_url, {"title": "Better"}, headers={"If-Match": created["ETag"]})
    refused = writer_client.patch(draft_url, {"title": "Worse"}, headers={"If-Match": created["ETag"]})

    assert applied.status_code == 200
    assert refused.status_code == 412
    assert Article.objects.get(pk=created.json()["id"]).title == "Better"


@pytest.mark.parametrize("body", [{}, None], ids=["empty JSON object", "no body"])
def test_a_patch_that_sends_no_field_is_a_400_before_its_if_match_is_checked(
    writer_client: APIClient, article: Article, body: dict[str, str] | None
) -> None:
    response = writer_client.patch(url(article), body, headers={"If-Match": '"not-the-current-etag"'})

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Send at least one of: title, slug, body, status, tags, author."]}
