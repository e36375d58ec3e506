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
from rest_framework.test import APIClient

from api.factories import ArticleFactory
from api.models import Article, Author
from tests.api.conftest import token_client

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor == "sqlite" and not connection.settings_dict["TEST"]["NAME"],
        reason="SQLite's in-memory test database cannot queue writers: set DATABASES TEST NAME to a file",
    ),
]

ROUNDS = 5


def at_once(user: User, count: int, request: Callable[[APIClient, int], Any]) -> list[Any]:
    """Return the results of ``request(client, i)`` for i up to ``count``, each in its own thread, released together.

    Each thread has a client of its own signed in as the user, and its own database connection.
    """
    clients = [token_client(user) for _ in range(count)]
    start = threading.Barrier(count)

    def run(index: int) -> Any:
        try:
            start.wait()
            return request(clients[index], index)
        finally:
            connections.close_all()  # this thread's connections, not the test's

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_concurrent_patches_of_different_fields_lose_nothing(writer: User, writer_author: Author) -> None:
    article = ArticleFactory.create(author=writer_author)
    url = f"/api/articles/{article.pk}/"

    for round_ in range(ROUNDS):
        changes = {"title": f"Title {round_}", "body": f"Body {round_}", "slug": f"slug-{round_}"}
        changes["status"] = "draft" if round_ % 2 else "published"
        sent = list(changes.items())

        statuses = at_once(writer, 4, lambda client, i: client.patch(url, dict([sent[i]])).status_code)  # noqa: B023

        saved = Article.objects.values(*changes).get(pk=article.pk)
        assert statuses == [200] * 4
        assert saved == changes, f"round {round_} lost a change"


def test_concurrent_creates_with_the_same_title_all_succeed(writer: User, writer_author: Author) -> None:
    responses = at_once(writer, 20, lambda client, _: client.post("/api/articles/", {"title": "Same", "body": "x"}))

    assert [response.status_code for response in responses] == [201] * 20
    assert len({response.json()["slug"] for response in responses}) == 20
    assert Article.objects.count() == 20


def test_concurrent_patches_with_the_same_if_match_let_exactly_one_win(writer: User, writer_author: Author) -> None:
    article = ArticleFactory.create(author=writer_author)
    url = f"/api/articles/{article.pk}/"
    if_match = {"If-Match": token_client(writer).get(url)["ETag"]}

    statuses = at_once(writer, 4, lambda c, i: c.patch(url, {"title": f"W{i}"}, headers=if_match).status_code)

    assert sorted(statuses) == [200, 412, 412, 412]
    assert Article.objects.get(pk=article.pk).title == f"W{statuses.index(200)}"


def test_concurrent_deletes_of_one_article_give_one_204_and_404s(writer: User, writer_author: Author) -> None:
    article = ArticleFactory.create(author=writer_author)

    statuses = at_once(writer, 4, lambda client, _: client.delete(f"/api/articles/{article.pk}/").status_code)

    assert sorted(statuses) == [204, 404, 404, 404]
