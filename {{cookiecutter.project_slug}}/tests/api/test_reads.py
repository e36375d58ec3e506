"""The public reads: their shapes, filters, orderings and cursors, and a query count that never grows with size."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries
from rest_framework.test import APIClient

from api.factories import ArticleFactory, AuthorFactory, CommentFactory, TagFactory
from api.models import Article
from tests.conftest import clear_cache

pytestmark = pytest.mark.django_db


def test_article_list_rows_have_the_documented_shape_and_no_body(api_client: APIClient) -> None:
    tags = [TagFactory.create(name="b-tag"), TagFactory.create(name="a-tag")]
    article = ArticleFactory.create(title="Hello", tags=tags)
    CommentFactory.create_batch(2, article=article)

    response = api_client.get("/api/articles/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [
            {
                "id": article.pk,
                "title": "Hello",
                "slug": article.slug,
                "status": "published",
                "published_at": article.published_at.isoformat().replace("+00:00", "Z"),  # type: ignore[union-attr]
                "author": {"id": article.author.pk, "name": article.author.name},
                "tags": ["a-tag", "b-tag"],
                "comment_count": 2,
            }
        ],
    }


def test_article_list_leaves_out_drafts(api_client: APIClient) -> None:
    published = ArticleFactory.create()
    ArticleFactory.create(status=Article.Status.DRAFT, published_at=None)

    ids = [row["id"] for row in api_client.get("/api/articles/").json()["results"]]

    assert ids == [published.pk]


@pytest.mark.parametrize(("params", "queries"), [({}, 1), ({"tag": "t"}, 2), ({"author": "1"}, 1)])
def test_article_list_queries_are_the_same_for_1_and_50_rows(
    api_client: APIClient, django_assert_num_queries: DjangoAssertNumQueries, params: dict[str, str], queries: int
) -> None:
    tag = TagFactory.create(slug="t")
    author = AuthorFactory.create(id=1)
    ArticleFactory.create(author=author, tags=[tag, TagFactory.create()])
    with django_assert_num_queries(queries):
        assert len(api_client.get("/api/articles/", params).json()["results"]) == 1

    for _ in range(49):
        CommentFactory.create(article=ArticleFactory.create(author=author, tags=[tag, TagFactory.create()]))
    with django_assert_num_queries(queries):
        assert len(api_client.get("/api/articles/", {**params, "page_size": "50"}).json()["results"]) == 50


def test_article_list_filters_by_tag_and_by_author(api_client: APIClient) -> None:
    tag = TagFactory.create(slug="django")
    tagged = ArticleFactory.create(tags=[tag])
    other = ArticleFactory.create()

    by_tag = api_client.get("/api/articles/", {"tag": "django"}).json()["results"]
    by_author = api_client.get("/api/articles/", {"author": other.author_id}).json()["results"]

    assert [row["id"] for row in by_tag] == [tagged.pk]
    assert [row["id"] for row in by_author] == [other.pk]


@pytest.mark.parametrize(
    ("ordering", "key"),
    [
        ("-published_at", lambda a: (-a.published_at.timestamp(), -a.pk)),
        ("published_at", lambda a: (a.published_at.timestamp(), a.pk)),
        ("title", lambda a: (a.title, a.pk)),
        ("id", lambda a: a.pk),
    ],
)
def test_article_list_cursors_walk_every_row_once_in_order_both_ways(
    api_client: APIClient, ordering: str, key: Callable[[Article], Any]
) -> None:
    same_time = timezone.now() - timedelta(days=1)
    # Ties on the ordering field (same time, same title) must neither repeat nor skip a row across pages.
    articles = [ArticleFactory.create(published_at=same_time, title=f"T{i % 3}") for i in range(7)]
    expected = [a.pk for a in sorted(articles, key=key)]

    pages: list[list[int]] = []
    url: str | None = f"/api/articles/?ordering={ordering}&page_size=3"
    # Bounded: a cursor that fails to advance must fail the test, not hang it.
    while url and len(pages) < 5:
        body = api_client.get(url).json()
        pages.append([row["id"] for row in body["results"]])
        url = body["next"]
    backwards: list[list[int]] = []
    url = api_client.get(f"/api/articles/?ordering={ordering}&page_size=3").json()["next"]
    last = api_client.get(url).json()
    while last["previous"] and len(backwards) < 5:
        last = api_client.get(last["previous"]).json()
        backwards.append([row["id"] for row in last["results"]])

    assert [pk for page in pages for pk in page] == expected
    assert [len(page) for page in pages] == [3, 3, 1]
    assert backwards == [pages[0]]


def test_article_list_next_link_keeps_the_filters_and_drops_unknown_parameters(api_client: APIClient) -> None:
    tag = TagFactory.create(slug="django")
    ArticleFactory.create_batch(3, tags=[tag])

    link = api_client.get("/api/articles/", {"tag": "django", "page_size": "2", "utm": "x"}).json()["next"]

    assert link.startswith("/api/articles/?tag=django&ordering=-published_at&page_size=2&cursor=")
    assert "utm" not in link


def test_article_detail_shows_body_author_tags_and_the_latest_five_comments(api_client: APIClient) -> None:
    article = ArticleFactory.create(tags=[TagFactory.create(name="x", slug="x")])
    comments = [CommentFactory.create(article=article) for _ in range(7)]

    body = api_client.get(f"/api/articles/{article.pk}/").json()

    assert body["body"] == article.body
    assert body["author"] == {"id": article.author.pk, "name": article.author.name, "bio": article.author.bio}
    assert body["tags"] == [{"id": article.tags.get().pk, "name": "x", "slug": "x"}]
    assert body["comment_count"] == 7
    assert [c["id"] for c in body["latest_comments"]] == [c.pk for c in reversed(comments[2:])]


def test_article_detail_queries_are_the_same_for_1_and_20_tags_and_comments(
    api_client: APIClient, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    small = ArticleFactory.create(tags=[TagFactory.create()])
    CommentFactory.create(article=small)
    large = ArticleFactory.create(tags=TagFactory.create_batch(20))
    CommentFactory.create_batch(20, article=large)

    with django_assert_num_queries(3):
        assert api_client.get(f"/api/articles/{small.pk}/").status_code == 200
    with django_assert_num_queries(3):
        assert api_client.get(f"/api/articles/{large.pk}/").status_code == 200


def test_article_detail_of_a_draft_is_a_404(api_client: APIClient) -> None:
    draft = ArticleFactory.create(status=Article.Status.DRAFT, published_at=None)

    response = api_client.get(f"/api/articles/{draft.pk}/")

    assert response.status_code == 404
    assert response.json() == {"detail": "No published article has this id.", "code": "not_found"}


@pytest.mark.parametrize(
    "url",
    ["/api/articles/", "/api/articles/{id}/", "/api/stats/", "/api/tags/", "/api/authors/", "/api/authors/{author}/"],
)
def test_a_warm_read_and_a_304_cost_zero_queries(
    api_client: APIClient, django_assert_num_queries: DjangoAssertNumQueries, url: str
) -> None:
    article = ArticleFactory.create(tags=[TagFactory.create()])
    url = url.format(id=article.pk, author=article.author_id)
    etag = api_client.get(url)["ETag"]

    with django_assert_num_queries(0):
        warm = api_client.get(url)
    with django_assert_num_queries(0):
        not_modified = api_client.get(url, HTTP_IF_NONE_MATCH=etag)

    assert warm.status_code == 200
    assert warm["ETag"] == etag
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified["ETag"] == etag


def test_unknown_query_parameters_are_served_from_the_same_entry(
    api_client: APIClient, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    ArticleFactory.create()
    api_client.get("/api/articles/", {"page_size": "5", "tag": ""})

    with django_assert_num_queries(0):
        api_client.get("/api/articles/", {"tag": "", "page_size": "5", "utm_source": "mail", "_": "123"})


def test_public_reads_are_publicly_cacheable_and_vary_on_nothing(api_client: APIClient) -> None:
    ArticleFactory.create()

    response = api_client.get("/api/articles/", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "public, max-age=0, s-maxage=10, stale-while-revalidate=30"
    assert "Vary" not in response


def test_a_cached_404_is_not_kept_by_http_caches(api_client: APIClient) -> None:
    response = api_client.get("/api/articles/999999/")

    assert response.status_code == 404
    assert response["Cache-Control"] == "public, no-cache"


def test_comment_list_pages_newest_first_and_404s_for_a_draft(api_client: APIClient) -> None:
    article = ArticleFactory.create()
    comments = CommentFactory.create_batch(3, article=article)
    draft = ArticleFactory.create(status=Article.Status.DRAFT, published_at=None)

    body = api_client.get(f"/api/articles/{article.pk}/comments/", {"page_size": 2}).json()

    assert [c["id"] for c in body["results"]] == [comments[2].pk, comments[1].pk]
    assert body["next"]
    assert api_client.get(f"/api/articles/{draft.pk}/comments/").status_code == 404


def test_author_and_tag_lists_count_published_articles_only(api_client: APIClient) -> None:
    author = AuthorFactory.create(name="Ada")
    tag = TagFactory.create(name="django", slug="django")
    ArticleFactory.create(author=author, tags=[tag])
    ArticleFactory.create(author=author, tags=[tag], status=Article.Status.DRAFT, published_at=None)

    authors = api_client.get("/api/authors/").json()["results"]
    tags = api_client.get("/api/tags/").json()["results"]
    detail = api_client.get(f"/api/authors/{author.pk}/").json()

    assert authors == [{"id": author.pk, "name": "Ada", "article_count": 1}]
    assert tags == [{"id": tag.pk, "name": "django", "slug": "django", "article_count": 1}]
    assert detail["article_count"] == 1
    assert detail["bio"] == author.bio


@pytest.mark.parametrize("url", ["/api/authors/", "/api/tags/", "/api/articles/{id}/comments/"])
def test_other_lists_cost_the_same_queries_for_1_and_50_rows(
    api_client: APIClient, django_assert_num_queries: DjangoAssertNumQueries, url: str
) -> None:
    article = ArticleFactory.create(tags=[TagFactory.create()])
    CommentFactory.create(article=article)
    url = url.format(id=article.pk)
    with CaptureQueriesContext(connection) as one_row:
        assert len(api_client.get(url, {"page_size": 50}).json()["results"]) == 1
    clear_cache()
    for _ in range(49):
        CommentFactory.create(article=ArticleFactory.create(tags=[TagFactory.create()]))
        CommentFactory.create(article=article)

    with django_assert_num_queries(len(one_row)):
        assert len(api_client.get(url, {"page_size": 50}).json()["results"]) == 50


def test_stats_counts_in_the_database_with_three_queries(
    api_client: APIClient, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    tag = TagFactory.create(slug="django", name="django")
    article = ArticleFactory.create(tags=[tag])
    ArticleFactory.create(status=Article.Status.DRAFT, published_at=None, tags=[tag])
    CommentFactory.create(article=article)
    old = CommentFactory.create(article=article)
    old.created_at = timezone.now() - timedelta(days=8)
    old.save()

    with django_assert_num_queries(3):
        body = api_client.get("/api/stats/").json()

    assert body == {
        "articles_by_status": {"draft": 1, "published": 1},
        "top_tags": [{"slug": "django", "name": "django", "article_count": 1}],
        "comments_last_7_days": 1,
    }
