"""After every kind of committed write the next read shows it; a rolled-back write changes nothing cached.

These tests commit for real (``transactional_db``): versions are bumped in ``transaction.on_commit``. A change
rebuilds only the responses that show it: a comment on one article leaves every other article's detail a hit.
"""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from api.factories import ArticleFactory, AuthorFactory, CommentFactory, TagFactory
from api.models import Article, Author, Comment, Tag
from core.toolkit.caching import bump_versions, object_version_key
from tests.api.conftest import token_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def list_row(client: APIClient, article_id: int, url: str = "/api/articles/") -> dict[str, Any] | None:
    """Return the article's row in a list, or None when it is not listed."""
    rows = client.get(url).json()["results"]
    return next((row for row in rows if row["id"] == article_id), None)


def warm(client: APIClient, article: Article) -> None:
    """Read every list and detail the article appears in, so each is served from the cache next time."""
    for url in [
        "/api/articles/",
        f"/api/articles/{article.pk}/",
        f"/api/articles/{article.pk}/comments/",
        f"/api/authors/{article.author_id}/",
    ]:
        client.get(url)
        assert client.get(url).status_code == 200


def test_a_created_article_shows_in_the_list_and_its_cached_404_is_forgotten(api_client: APIClient) -> None:
    api_client.get("/api/articles/")
    next_id = ArticleFactory.create().pk + 1
    assert api_client.get(f"/api/articles/{next_id}/").status_code == 404

    created = ArticleFactory.create()

    assert created.pk == next_id
    assert api_client.get(f"/api/articles/{next_id}/").status_code == 200
    assert list_row(api_client, created.pk) is not None


EDITS: list[tuple[str, Callable[[Article], object], Callable[[APIClient, Article], bool]]] = [
    (
        "update title",
        lambda a: _save_title(a, "Renamed"),
        lambda c, a: (
            list_row(c, a.pk)["title"] == "Renamed"  # type: ignore[index]
            and c.get(f"/api/articles/{a.pk}/").json()["title"] == "Renamed"
        ),
    ),
    (
        "rename author",
        lambda a: _rename_author(a, "New Name"),
        lambda c, a: (
            list_row(c, a.pk)["author"]["name"] == "New Name"  # type: ignore[index]
            and c.get(f"/api/articles/{a.pk}/").json()["author"]["name"] == "New Name"
        ),
    ),
    (
        "add a tag",
        lambda a: a.tags.add(TagFactory.create(name="added")),
        lambda c, a: (
            "added" in list_row(c, a.pk)["tags"]  # type: ignore[index]
            and "added" in [t["name"] for t in c.get(f"/api/articles/{a.pk}/").json()["tags"]]
        ),
    ),
    (
        "remove a tag",
        lambda a: a.tags.remove(a.tags.get(name="kept")),
        lambda c, a: (
            list_row(c, a.pk)["tags"] == []  # type: ignore[index]
            and c.get(f"/api/articles/{a.pk}/").json()["tags"] == []
        ),
    ),
    (
        "rename a tag",
        lambda a: _rename_tag("kept", "renamed"),
        lambda c, a: (
            list_row(c, a.pk)["tags"] == ["renamed"]  # type: ignore[index]
            and [t["name"] for t in c.get(f"/api/articles/{a.pk}/").json()["tags"]] == ["renamed"]
        ),
    ),
    (
        "add a tag from the tag's side",
        lambda a: TagFactory.create(name="added").articles.add(a),
        lambda c, a: "added" in [t["name"] for t in c.get(f"/api/articles/{a.pk}/").json()["tags"]],
    ),
    (
        "remove a tag from the tag's side",
        lambda a: Tag.objects.get(name="kept").articles.remove(a),
        lambda c, a: c.get(f"/api/articles/{a.pk}/").json()["tags"] == [],
    ),
    (
        "clear a tag's articles",
        lambda a: Tag.objects.get(name="kept").articles.clear(),
        lambda c, a: c.get(f"/api/articles/{a.pk}/").json()["tags"] == [],
    ),
    (
        "clear an article's tags",
        lambda a: a.tags.clear(),
        lambda c, a: c.get(f"/api/articles/{a.pk}/").json()["tags"] == [],
    ),
    (
        "add a comment",
        lambda a: CommentFactory.create(article=a, body="fresh"),
        lambda c, a: (
            list_row(c, a.pk)["comment_count"] == 1  # type: ignore[index]
            and c.get(f"/api/articles/{a.pk}/").json()["latest_comments"][0]["body"] == "fresh"
            and c.get(f"/api/articles/{a.pk}/comments/").json()["results"][0]["body"] == "fresh"
        ),
    ),
    (
        "unpublish",
        lambda a: _save_status(a, Article.Status.DRAFT),
        lambda c, a: list_row(c, a.pk) is None and c.get(f"/api/articles/{a.pk}/").status_code == 404,
    ),
    (
        # A copy is deleted: Django clears the deleted instance's primary key, and the checks need it.
        "delete",
        lambda a: Article.objects.get(pk=a.pk).delete(),
        lambda c, a: (
            list_row(c, a.pk) is None
            and c.get(f"/api/articles/{a.pk}/").status_code == 404
            and c.get(f"/api/articles/{a.pk}/comments/").status_code == 404
        ),
    ),
    (
        "bulk update",
        lambda a: _bulk_retitle(a, "Bulk"),
        lambda c, a: (
            list_row(c, a.pk)["title"] == "Bulk"  # type: ignore[index]
            and c.get(f"/api/articles/{a.pk}/").json()["title"] == "Bulk"
        ),
    ),
    (
        "bulk unpublish",
        lambda a: _bulk_unpublish(a),
        lambda c, a: (
            c.get(f"/api/articles/{a.pk}/").status_code == 404
            and c.get(f"/api/articles/{a.pk}/comments/").status_code == 404
            and c.get(f"/api/authors/{a.author_id}/").json()["article_count"] == 0
        ),
    ),
]


def _save_title(article: Article, title: str) -> None:
    article.title = title
    article.save()


def _save_status(article: Article, status: str) -> None:
    article.status = status
    article.save()


def _rename_author(article: Article, name: str) -> None:
    article.author.name = name
    article.author.save()


def _rename_tag(old: str, new: str) -> None:
    tag = Tag.objects.get(name=old)
    tag.name = new
    tag.save()


def _bulk_unpublish(article: Article) -> None:
    Article.objects.filter(pk=article.pk).update(status=Article.Status.DRAFT)
    bump_versions(Article)


def _bulk_retitle(article: Article, title: str) -> None:
    from core.toolkit.caching import bump_versions_on_commit

    with transaction.atomic():
        Article.objects.filter(pk=article.pk).update(title=title)
        bump_versions_on_commit(Article)


@pytest.mark.parametrize(("edit", "shows_change"), [pytest.param(e, s, id=i) for i, e, s in EDITS])
def test_the_next_read_after_a_committed_write_shows_it(
    api_client: APIClient, edit: Callable[[Article], object], shows_change: Callable[[APIClient, Article], bool]
) -> None:
    author = AuthorFactory.create(name="Old Name")
    article = ArticleFactory.create(author=author, tags=[TagFactory.create(name="kept")])
    warm(api_client, article)

    edit(article)

    assert shows_change(api_client, article)


def test_a_rolled_back_write_changes_nothing_cached(api_client: APIClient, django_assert_num_queries: Any) -> None:
    article = ArticleFactory.create(title="Original")
    warm(api_client, article)

    def write_then_fail() -> None:
        with transaction.atomic():
            _save_title(article, "Rolled back")
            CommentFactory.create(article=article)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        write_then_fail()

    with django_assert_num_queries(0):
        assert list_row(api_client, article.pk)["title"] == "Original"  # type: ignore[index]
    assert Comment.objects.count() == 0


def test_writes_through_the_api_show_in_the_next_reads(api_client: APIClient) -> None:
    writer = UserFactory.create()
    AuthorFactory.create(user=writer)
    client = token_client(writer)
    assert api_client.get("/api/articles/").json()["results"] == []

    created = client.post("/api/articles/", {"title": "Fresh", "body": "x", "status": "published"}).json()
    assert [row["title"] for row in api_client.get("/api/articles/").json()["results"]] == ["Fresh"]

    client.patch(f"/api/articles/{created['id']}/", {"title": "Edited"})
    assert api_client.get(f"/api/articles/{created['id']}/").json()["title"] == "Edited"

    api_client.post(f"/api/articles/{created['id']}/comments/", {"author_name": "Ann", "body": "Hi"})
    assert list_row(api_client, created["id"])["comment_count"] == 1  # type: ignore[index]

    client.delete(f"/api/articles/{created['id']}/")
    assert api_client.get("/api/articles/").json()["results"] == []


def test_a_comment_on_one_article_leaves_the_other_articles_cached_detail_a_hit(
    api_client: APIClient, django_assert_num_queries: Any
) -> None:
    commented, other = ArticleFactory.create(), ArticleFactory.create()
    warm(api_client, commented)
    warm(api_client, other)

    CommentFactory.create(article=commented, body="fresh")

    with django_assert_num_queries(0):
        assert api_client.get(f"/api/articles/{other.pk}/").status_code == 200
        assert api_client.get(f"/api/articles/{other.pk}/comments/").status_code == 200
        assert api_client.get(f"/api/authors/{other.author_id}/").status_code == 200
    assert api_client.get(f"/api/articles/{commented.pk}/").json()["latest_comments"][0]["body"] == "fresh"
    assert api_client.get(f"/api/articles/{commented.pk}/comments/").json()["results"][0]["body"] == "fresh"
    assert list_row(api_client, commented.pk)["comment_count"] == 1  # type: ignore[index]


def test_an_edit_of_one_article_leaves_the_other_articles_cached_detail_a_hit(
    api_client: APIClient, django_assert_num_queries: Any
) -> None:
    edited, other = ArticleFactory.create(), ArticleFactory.create()
    warm(api_client, other)

    _save_title(edited, "Edited")

    with django_assert_num_queries(0):
        assert api_client.get(f"/api/articles/{other.pk}/").status_code == 200
    assert api_client.get(f"/api/articles/{edited.pk}/").json()["title"] == "Edited"


def test_a_bulk_edit_of_comments_reaches_every_article_that_shows_them(api_client: APIClient) -> None:
    comment = CommentFactory.create(body="before")
    warm(api_client, comment.article)

    Comment.objects.filter(pk=comment.pk).update(body="after")
    bump_versions(Comment)

    assert api_client.get(f"/api/articles/{comment.article_id}/").json()["latest_comments"][0]["body"] == "after"
    assert api_client.get(f"/api/articles/{comment.article_id}/comments/").json()["results"][0]["body"] == "after"


def test_moving_an_article_to_another_author_rebuilds_both_authors(api_client: APIClient) -> None:
    article = ArticleFactory.create()
    old_author, new_author = article.author, AuthorFactory.create()
    assert api_client.get(f"/api/authors/{old_author.pk}/").json()["article_count"] == 1
    assert api_client.get(f"/api/authors/{new_author.pk}/").json()["article_count"] == 0

    loaded = Article.objects.get(pk=article.pk)
    loaded.author = new_author
    loaded.save()

    assert api_client.get(f"/api/authors/{old_author.pk}/").json()["article_count"] == 0
    assert api_client.get(f"/api/authors/{new_author.pk}/").json()["article_count"] == 1


def test_renaming_an_author_rebuilds_the_details_of_their_articles(api_client: APIClient) -> None:
    article = ArticleFactory.create()
    warm(api_client, article)

    Author.objects.filter(pk=article.author_id).update(name="Renamed")
    bump_versions(Author)

    assert api_client.get(f"/api/articles/{article.pk}/").json()["author"]["name"] == "Renamed"
    assert api_client.get(f"/api/authors/{article.author_id}/").json()["name"] == "Renamed"


def test_a_comment_loaded_without_its_article_key_still_rebuilds_the_article_it_was_on(api_client: APIClient) -> None:
    comment = CommentFactory.create(body="before")
    warm(api_client, comment.article)

    partial = Comment.objects.only("body").get(pk=comment.pk)
    partial.body = "after"
    partial.save()

    assert api_client.get(f"/api/articles/{comment.article_id}/").json()["latest_comments"][0]["body"] == "after"


def test_an_article_changed_with_its_tags_is_invalidated_by_one_bump(
    writer_client: APIClient, writer_author: Author, bumps: list[frozenset[str]]
) -> None:
    old_tags, new_tags = TagFactory.create_batch(2), TagFactory.create_batch(2)
    article = ArticleFactory.create(author=writer_author, tags=old_tags)
    bumps.clear()

    response = writer_client.patch(
        f"/api/articles/{article.pk}/", {"title": "Renamed", "tags": [tag.slug for tag in new_tags]}, format="json"
    )

    assert response.status_code == 200
    # The row, the tags it left and the tags it joined each asked for a bump; one went out, with all their keys.
    assert len(bumps) == 1
    changed = [object_version_key(Tag, tag.pk) for tag in old_tags + new_tags]
    assert {object_version_key(Article, article.pk), *changed} <= bumps[0]
