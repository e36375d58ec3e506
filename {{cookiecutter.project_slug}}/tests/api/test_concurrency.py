"""Concurrent writers, each a real thread with its own database connection: no acknowledged change lost, no 500.

They run on PostgreSQL, which queues the writes to one article on its row lock, and on a SQLite file, where
IMMEDIATE transactions queue every writer. They skip on SQLite's in-memory test database: its threads share one
cache whose table locks fail at once ("database table is locked") where a file's wait for the busy timeout.
"""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from api.factories import ArticleFactory, TagFactory
from api.models import Article, Author

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor == "sqlite" and not connection.settings_dict["TEST"]["NAME"],
        reason="SQLite's in-memory test database cannot queue writers: set DATABASES TEST NAME to a file",
    ),
]

ROUNDS = 5


def at_once(count: int, request: Callable[[int], Any]) -> list[Any]:
    """Return the results of ``request(0)`` to ``request(count - 1)``, each in its own thread, released together."""
    start = threading.Barrier(count)

    def run(index: int) -> Any:
        try:
            start.wait()
            return request(index)
        finally:
            connections.close_all()  # each thread opened its own connection: give it back

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def client_for(user: User) -> APIClient:
    """Return a client that signs in with the user's token (made before the threads start)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_concurrent_patches_of_different_fields_lose_nothing(writer: User, writer_author: Author) -> None:
    article = ArticleFactory.create(author=writer_author)
    tags = TagFactory.create_batch(ROUNDS)
    url = f"/api/articles/{article.pk}/"

    for round_ in range(ROUNDS):
        changes: list[dict[str, Any]] = [
            {"title": f"Title {round_}"},
            {"body": f"Body {round_}"},
            {"slug": f"slug-{round_}"},
            {"status": "draft" if round_ % 2 else "published"},
        ]
        statuses = at_once(4, lambda i: client_for(writer).patch(url, changes[i]).status_code)  # noqa: B023

        saved = Article.objects.get(pk=article.pk)
        assert statuses == [200] * 4
        assert (saved.title, saved.body, saved.slug, saved.status) == (
            f"Title {round_}",
            f"Body {round_}",
            f"slug-{round_}",
            changes[3]["status"],
        ), f"round {round_} lost a change"
    assert tags  # tags untouched by the PATCHes that did not send them


def test_concurrent_creates_with_the_same_title_all_succeed(writer: User, writer_author: Author) -> None:
    responses = at_once(20, lambda _: client_for(writer).post("/api/articles/", {"title": "Same", "body": "x"}))

    assert [response.status_code for response in responses] == [201] * 20
    assert len({response.json()["slug"] for response in responses}) == 20
    assert Article.objects.count() == 20


def test_concurrent_patches_with_the_same_if_match_let_exactly_one_win(writer: User, writer_author: Author) -> None:
    article = ArticleFactory.create(author=writer_author)
    url = f"/api/articles/{article.pk}/"
    etag = client_for(writer).get(url)["ETag"]

    statuses = at_once(
        4, lambda i: client_for(writer).patch(url, {"title": f"Winner {i}"}, headers={"If-Match": etag}).status_code
    )

    assert sorted(statuses) == [200, 412, 412, 412]
    assert Article.objects.get(pk=article.pk).title == f"Winner {statuses.index(200)}"


def test_concurrent_deletes_of_one_article_give_one_204_and_404s(writer: User, writer_author: Author) -> None:
    article = ArticleFactory.create(author=writer_author)

    statuses = at_once(4, lambda _: client_for(writer).delete(f"/api/articles/{article.pk}/").status_code)

    assert sorted(statuses) == [204, 404, 404, 404]
