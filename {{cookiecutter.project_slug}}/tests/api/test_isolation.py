"""A response built for one user is never served to another user or to an anonymous client."""

import pytest
from django.contrib.auth.models import User
from pytest_django import DjangoAssertNumQueries
from rest_framework.test import APIClient

from api.factories import ArticleFactory, AuthorFactory
from api.models import Article, Author
from tests.api.conftest import token_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_my_articles_are_each_users_own_drafts_included(writer_client: APIClient, writer_author: Author) -> None:
    mine = ArticleFactory.create(author=writer_author, status=Article.Status.DRAFT, published_at=None)
    other_user = UserFactory.create()
    theirs = ArticleFactory.create(author=AuthorFactory.create(user=other_user))

    my_ids = [row["id"] for row in writer_client.get("/api/me/articles/").json()["results"]]
    their_ids = [row["id"] for row in token_client(other_user).get("/api/me/articles/").json()["results"]]

    assert my_ids == [mine.pk]
    assert their_ids == [theirs.pk]


def test_my_articles_are_refused_to_anonymous_clients_even_when_cached(
    writer_client: APIClient, writer_author: Author, api_client: APIClient
) -> None:
    ArticleFactory.create(author=writer_author)
    assert writer_client.get("/api/me/articles/").status_code == 200

    response = api_client.get("/api/me/articles/")

    assert response.status_code == 401
    assert "results" not in response.json()


def test_a_user_scoped_response_is_private_and_varies_on_credentials(
    writer_client: APIClient, writer_author: Author
) -> None:
    ArticleFactory.create(author=writer_author)

    response = writer_client.get("/api/me/articles/")

    assert response["Cache-Control"] == "private, no-cache"
    assert set(response["Vary"].split(", ")) >= {"Authorization", "Cookie"}


def test_a_warm_user_scoped_read_costs_only_the_authentication_query(
    writer_client: APIClient, writer_author: Author, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    ArticleFactory.create(author=writer_author)
    etag = writer_client.get("/api/me/articles/")["ETag"]

    with django_assert_num_queries(1):
        assert writer_client.get("/api/me/articles/").status_code == 200
    with django_assert_num_queries(1):
        assert writer_client.get("/api/me/articles/", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_public_reads_ignore_credentials_so_every_client_gets_the_same_bytes(
    writer_client: APIClient, writer_author: Author, api_client: APIClient, writer: User
) -> None:
    ArticleFactory.create(author=writer_author, status=Article.Status.DRAFT, published_at=None)

    signed_in = writer_client.get("/api/articles/")
    anonymous = api_client.get("/api/articles/")

    assert signed_in.json()["results"] == []
    assert signed_in.content == anonymous.content
