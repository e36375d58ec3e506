"""Every read of the example API, each with its query shape stated here and nowhere else.

Lists are ``values()`` rows with their counts computed in the database: no model instances and no per-row
serializer. Details are model instances with ``select_related`` / ``prefetch_related``, so their query count does
not grow with the number of tags or comments.
"""

from collections import defaultdict
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.db.models import Count, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from api.models import Article, Author, Comment, Tag

Rows = QuerySet[Any, Any]

ARTICLE_ORDERINGS = {
    "-published_at": ("-published_at", "-id"),
    "published_at": ("published_at", "id"),
    "title": ("title", "id"),
    "id": ("id",),
}
AUTHOR_ORDERINGS = {"name": ("name", "id")}
TAG_ORDERINGS = {"name": ("name", "id")}
COMMENT_ORDERINGS = {"-created_at": ("-created_at", "-id")}
MY_ARTICLE_ORDERINGS = {"-id": ("-id",)}
LATEST_COMMENTS = 5
TOP_TAGS = 10
RECENT_COMMENTS_DAYS = 7

_ARTICLE_ROW_FIELDS = ("id", "title", "slug", "status", "published_at", "author_id")
_TagThrough = Article.tags.through


def _count(rows: QuerySet[Any], field: str) -> Coalesce:
    """Return a correlated ``COUNT(*)`` of ``rows`` whose ``field`` is the outer row, 0 when there are none.

    A subquery in the select list is evaluated only for the rows of the page, where a joined ``Count()`` would
    group every matching row before the ``LIMIT``.
    """
    counted = rows.filter(**{field: OuterRef("pk")}).order_by().values(field).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _published() -> QuerySet[Article]:
    """Return the published articles."""
    return Article.objects.filter(status=Article.Status.PUBLISHED)


def tag_id_for_slug(*, slug: str) -> int | None:
    """Return the id of the tag with this slug, or None."""
    return Tag.objects.filter(slug=slug).values_list("id", flat=True).first()


def article_list(*, tag_id: int | None = None, author_id: int | None = None) -> Rows:
    """Return published articles as rows with their author's name and comment count (one query per page)."""
    articles = _published()
    if tag_id is not None:
        articles = articles.filter(tags=tag_id)
    if author_id is not None:
        articles = articles.filter(author_id=author_id)
    return _list_rows(articles)


def author_article_list(*, user_id: int) -> Rows:
    """Return every article of the user's author profile, drafts included, as rows like ``article_list``'s."""
    return _list_rows(Article.objects.filter(author__user_id=user_id))


def _list_rows(articles: QuerySet[Article]) -> Rows:
    """Return the articles as list rows: their own columns, the author's name and the comment count."""
    rows: Rows = articles.values(
        *_ARTICLE_ROW_FIELDS, author_name=F("author__name"), comment_count=_count(Comment.objects.all(), "article")
    )
    return rows


def article_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return article rows in the API's list shape, with every article's tag names from a single query."""
    names: defaultdict[int, list[str]] = defaultdict(list)
    if rows:
        pairs = _TagThrough.objects.filter(article_id__in=[row["id"] for row in rows]).order_by("tag__name", "tag_id")
        for article_id, name in pairs.values_list("article_id", "tag__name"):
            names[article_id].append(name)
    return [
        {
            "id": row["id"],
            "title": row["title"],
            "slug": row["slug"],
            "status": row["status"],
            "published_at": row["published_at"],
            "author": {"id": row["author_id"], "name": row["author_name"]},
            "tags": names[row["id"]],
            "comment_count": row["comment_count"],
        }
        for row in rows
    ]


def article_detail(*, article_id: int, published_only: bool = True) -> Article | None:
    """Return the article with its author, tags and latest comments in three queries, or None."""
    articles = _published() if published_only else Article.objects.all()
    latest = Comment.objects.order_by("-created_at", "-id")[:LATEST_COMMENTS]
    return (
        articles.filter(pk=article_id)
        .select_related("author")
        .prefetch_related("tags", Prefetch("comments", queryset=latest, to_attr="latest_comments"))
        .annotate(comment_count=_count(Comment.objects.all(), "article"))
        .first()
    )


def article_for_update(*, article_id: int) -> Article | None:
    """Return the article, whatever its status, with its author, locked until the transaction ends; or None."""
    # Only the article's row is locked (not its author's): concurrent writes to one article queue here, so each
    # reads the row the previous one committed. SQLite has no row locks; its IMMEDIATE transactions queue them.
    return Article.objects.select_for_update(of=("self",)).select_related("author").filter(pk=article_id).first()


def published_article_exists(*, article_id: int) -> bool:
    """Return whether a published article has this id."""
    return _published().filter(pk=article_id).exists()


def comment_list(*, article_id: int) -> Rows:
    """Return the article's comments as rows."""
    return Comment.objects.filter(article_id=article_id).values("id", "author_name", "body", "created_at")


def author_list() -> Rows:
    """Return authors as rows with their number of published articles."""
    return Author.objects.values("id", "name", article_count=_count(_published(), "author"))


def author_detail(*, author_id: int) -> Mapping[str, Any] | None:
    """Return the author as a row with their bio and number of published articles, or None."""
    authors = Author.objects.filter(pk=author_id)
    return authors.values("id", "name", "bio", "created_at", article_count=_count(_published(), "author")).first()


def tag_list() -> Rows:
    """Return tags as rows with their number of published articles."""
    published_tagged = _TagThrough.objects.filter(article__status=Article.Status.PUBLISHED)
    return Tag.objects.values("id", "name", "slug", article_count=_count(published_tagged, "tag"))


def stats() -> dict[str, Any]:
    """Return article counts by status, the top tags and the recent comment count: three aggregate queries."""
    by_status = dict.fromkeys(Article.Status.values, 0)
    by_status.update(Article.objects.order_by().values_list("status").annotate(n=Count("id")))
    top_tags = (
        Tag.objects.annotate(article_count=Count("articles", filter=Q(articles__status=Article.Status.PUBLISHED)))
        .filter(article_count__gt=0)
        .order_by("-article_count", "name")
        .values("slug", "name", "article_count")[:TOP_TAGS]
    )
    since = timezone.now() - timedelta(days=RECENT_COMMENTS_DAYS)
    return {
        "articles_by_status": by_status,
        "top_tags": list(top_tags),
        "comments_last_7_days": Comment.objects.filter(created_at__gte=since).count(),
    }
