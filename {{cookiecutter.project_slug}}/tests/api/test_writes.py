"""Writes: who may create, change and delete an article, what validation answers, and anonymous comments."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from api.factories import ArticleFactory, AuthorFactory, TagFactory
from api.models import Article, Author
from tests.api.conftest import token_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW_ARTICLE = {"title": "Fast APIs", "body": "Cache the bytes.", "status": "published"}


def test_a_writer_creates_an_article_as_their_author(writer_client: APIClient, writer_author: Author) -> None:
    TagFactory.create(slug="django")

    response = writer_client.post("/api/articles/", {**NEW_ARTICLE, "tags": ["django"]})

    assert response.status_code == 201
    body = response.json()
    assert body["author"]["id"] == writer_author.pk
    assert body["slug"] == "fast-apis"
    assert body["published_at"] is not None
    assert [tag["slug"] for tag in body["tags"]] == ["django"]


def test_a_taken_slug_made_from_the_title_gets_a_suffix(writer_client: APIClient) -> None:
    ArticleFactory.create(slug="fast-apis")

    response = writer_client.post("/api/articles/", NEW_ARTICLE)

    assert response.status_code == 201
    assert response.json()["slug"].startswith("fast-apis-")


def test_a_slug_the_client_sends_is_never_changed_a_taken_one_is_a_400(writer_client: APIClient) -> None:
    ArticleFactory.create(slug="fast-apis")

    response = writer_client.post("/api/articles/", {**NEW_ARTICLE, "slug": "fast-apis"})

    assert response.status_code == 400
    assert response.json() == {"slug": ["An article with this slug already exists."]}


def test_a_session_signed_in_writer_can_create_with_a_csrf_token(writer: User) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(writer)

    refused = client.post("/api/articles/", NEW_ARTICLE)

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]


def test_anonymous_writes_are_refused(api_client: APIClient) -> None:
    article = ArticleFactory.create()

    assert api_client.post("/api/articles/", NEW_ARTICLE).status_code == 401
    assert api_client.patch(f"/api/articles/{article.pk}/", {"title": "x"}).status_code == 401
    assert api_client.delete(f"/api/articles/{article.pk}/").status_code == 401


def test_a_user_without_an_author_profile_gets_a_400_saying_why(user: User) -> None:
    response = token_client(user).post("/api/articles/", NEW_ARTICLE)

    assert response.status_code == 400
    assert "author profile" in response.json()["author"][0]


def test_only_staff_may_write_as_another_author(writer_client: APIClient, staff_user: User) -> None:
    other = AuthorFactory.create()

    refused = writer_client.post("/api/articles/", {**NEW_ARTICLE, "author": other.pk})
    allowed = token_client(staff_user).post("/api/articles/", {**NEW_ARTICLE, "author": other.pk})

    assert refused.status_code == 403
    assert allowed.status_code == 201
    assert allowed.json()["author"]["id"] == other.pk


def test_the_author_updates_and_deletes_their_article(writer_client: APIClient, writer_author: Author) -> None:
    article = ArticleFactory.create(author=writer_author)

    patched = writer_client.patch(f"/api/articles/{article.pk}/", {"title": "New title"})
    put = writer_client.put(f"/api/articles/{article.pk}/", {**NEW_ARTICLE, "status": "draft"})
    deleted = writer_client.delete(f"/api/articles/{article.pk}/")

    assert patched.status_code == 200
    assert patched.json()["title"] == "New title"
    assert put.status_code == 200
    assert put.json()["status"] == "draft"
    assert deleted.status_code == 204
    assert not Article.objects.filter(pk=article.pk).exists()


def test_another_user_may_not_change_an_article_but_staff_may(writer_author: Author, staff_user: User) -> None:
    article = ArticleFactory.create(author=writer_author)
    stranger = token_client(AuthorFactory.create(user=UserFactory.create()).user)  # type: ignore[arg-type]

    refused = stranger.patch(f"/api/articles/{article.pk}/", {"title": "Mine now"})
    allowed = token_client(staff_user).patch(f"/api/articles/{article.pk}/", {"title": "Edited by staff"})

    assert refused.status_code == 403
    assert allowed.status_code == 200
    assert Article.objects.get(pk=article.pk).title == "Edited by staff"


def test_changing_a_missing_article_is_a_404(writer_client: APIClient) -> None:
    assert writer_client.patch("/api/articles/999999/", {"title": "x"}).status_code == 404


def test_anyone_may_comment_on_a_published_article(api_client: APIClient) -> None:
    article = ArticleFactory.create()

    response = api_client.post(f"/api/articles/{article.pk}/comments/", {"author_name": "Ann", "body": "Nice."})

    assert response.status_code == 201
    assert response.json()["author_name"] == "Ann"
    assert article.comments.count() == 1


def test_commenting_is_throttled_per_client(api_client: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"comments": "2/minute"})
    article = ArticleFactory.create()
    url = f"/api/articles/{article.pk}/comments/"

    statuses = [api_client.post(url, {"author_name": "Ann", "body": "Hi"}).status_code for _ in range(3)]

    assert statuses == [201, 201, 429]
    assert api_client.get(url).status_code == 200


@pytest.mark.usefixtures("writer_author")
def test_an_empty_form_value_is_validated_as_in_json_not_read_as_left_out(writer_client: APIClient) -> None:
    form = {**NEW_ARTICLE, "status": ""}

    as_form = writer_client.post("/api/articles/", form, format="multipart")
    as_json = writer_client.post("/api/articles/", form, format="json")

    assert as_form.status_code == as_json.status_code == 400
    assert as_form.json() == as_json.json() == {"status": ['"" is not a valid choice.']}


@pytest.mark.usefixtures("writer_author")
@pytest.mark.parametrize("body_format", ["json", "multipart"])
def test_an_empty_slug_is_made_from_the_title_and_left_alone_by_a_change(
    writer_client: APIClient, body_format: str
) -> None:
    created = writer_client.post("/api/articles/", {**NEW_ARTICLE, "slug": ""}, format=body_format)
    assert created.status_code == 201
    assert created.json()["slug"] == "fast-apis"

    changed = writer_client.patch(f"/api/articles/{created.json()['id']}/", {"slug": "", "title": "Faster"})

    assert changed.status_code == 200
    assert changed.json()["slug"] == "fast-apis"
