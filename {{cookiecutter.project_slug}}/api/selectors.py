"""Which rows each read of the example API shows; the shape of list rows is declared in ``api.rows``.

Details are model instances with ``select_related`` / ``prefetch_related``, so their query count does not grow
with the number of tags or comments.
"""

from datetime import timedelta
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from api.models import Article, Comment, Tag
from core.toolkit.rows import count_of

LATEST_COMMENTS = 5
TOP_TAGS = 10
RECENT_COMMENTS_DAYS = 7


def _published() -> QuerySet[Article]:
    """Return the published articles."""
    return Article.objects.filter(status=Article.Status.PUBLISHED)


def tag_id_for_slug(*, slug: str) -> int | None:
    """Return the id of the tag with this slug, or None."""
    return Tag.objects.filter(slug=slug).values_list("id", flat=True).first()


def published_articles(*, tag: int | None = None, author: int | None = None) -> QuerySet[Article]:
    """Return the published articles, with this tag id and by this author id when given."""
    articles = _published()
    if tag is not None:
        articles = articles.filter(tags=tag)
    if author is not None:
        articles = articles.filter(author_id=author)
    return articles


def articles_of_user(*, user_id: int) -> QuerySet[Article]:
    """Return every article of the user's author profile, drafts included."""
    return Article.objects.filter(author__user_id=user_id)


def article_detail(*, article_id: int, published_only: bool = True) -> Article | None:
    """Return the article with its author, tags and latest comments in three queries, or None."""
    articles = _published() if published_only else Article.objects.all()
    latest = Comment.objects.order_by("-created_at", "-id")[:LATEST_COMMENTS]
    return (
        articles.filter(pk=article_id)
        .select_related("author")
        .prefetch_related("tags", Prefetch("comments", queryset=latest, to_attr="latest_comments"))
        .annotate(comment_count=count_of(Comment.objects.all(), "article"))
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


def comments_of(*, article_id: int) -> QuerySet[Comment]:
    """Return the article's comments."""
    return Comment.objects.filter(article_id=article_id)


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
