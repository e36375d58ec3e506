"""Demo data for the example API: deterministic, idempotent, written with bulk_create in batches."""

import random
from collections.abc import Callable
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.text import slugify

from api.factories import ArticleFactory, AuthorFactory, CommentFactory
from api.models import Article, Author, Comment, Tag
from core.toolkit.caching import bump_versions_on_commit

DEMO_EMAIL_DOMAIN = "demo.example.com"
DEMO_SLUG_PREFIX = "demo-"
DEMO_TAGS = [
    "Django", "REST", "Performance", "Caching", "PostgreSQL", "Redis",
    "Profiling", "Python", "HTTP", "Testing", "Deployment", "Security",
]  # fmt: skip
ARTICLES_PER_AUTHOR = 20
BATCH_SIZE = 500
MAX_COMMENTS_PER_ARTICLE = 8
Progress = Callable[[int, int], None]


def demo_data_delete() -> int:
    """Delete every demo author (their articles and comments go with them) and demo tag; return articles deleted."""
    deleted = Article.objects.filter(slug__startswith=DEMO_SLUG_PREFIX).count()
    Author.objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}").delete()
    Tag.objects.filter(slug__in=[slugify(name) for name in DEMO_TAGS]).delete()
    return deleted


def _demo_tags() -> list[Tag]:
    """Return the demo tags, creating the missing ones."""
    Tag.objects.bulk_create([Tag(name=name, slug=slugify(name)) for name in DEMO_TAGS], ignore_conflicts=True)
    return list(Tag.objects.filter(slug__in=[slugify(name) for name in DEMO_TAGS]))


def _demo_authors(count: int) -> list[Author]:
    """Return ``count`` demo authors, creating the missing ones."""
    authors = [AuthorFactory.build(email=f"author{index}@{DEMO_EMAIL_DOMAIN}") for index in range(count)]
    Author.objects.bulk_create(authors, ignore_conflicts=True)
    return list(Author.objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}").order_by("id")[:count])


def _create_batch(rng: random.Random, first: int, size: int, authors: list[Author], tags: list[Tag]) -> None:
    """Create demo articles numbered from ``first``, with their tags and comments, in a few queries."""
    now = timezone.now()
    articles = Article.objects.bulk_create(
        [
            ArticleFactory.build(
                slug=f"{DEMO_SLUG_PREFIX}{number}",
                author=rng.choice(authors),
                status=Article.Status.PUBLISHED if rng.random() < 0.9 else Article.Status.DRAFT,
                published_at=now - timedelta(minutes=rng.randrange(525_600)),
            )
            for number in range(first, first + size)
        ]
    )
    Article.tags.through.objects.bulk_create(
        [
            Article.tags.through(article_id=article.pk, tag_id=tag.pk)
            for article in articles
            for tag in rng.sample(tags, rng.randint(1, 4))
        ]
    )
    Comment.objects.bulk_create(
        [
            CommentFactory.build(article=article)
            for article in articles
            for _ in range(rng.randint(0, MAX_COMMENTS_PER_ARTICLE))
        ]
    )


def demo_data_seed(*, articles: int, seed: int = 42, progress: Progress | None = None) -> int:
    """Top the demo data up to ``articles`` articles; return how many were created (0 when already there)."""
    existing = Article.objects.filter(slug__startswith=DEMO_SLUG_PREFIX).count()
    missing = max(articles - existing, 0)
    rng = random.Random(seed + existing)  # noqa: S311 - demo data, not secrets
    tags = _demo_tags()
    authors = _demo_authors(max(articles // ARTICLES_PER_AUTHOR, 5))
    created = 0
    while created < missing:
        size = min(BATCH_SIZE, missing - created)
        with transaction.atomic():
            _create_batch(rng, existing + created, size, authors, tags)
        created += size
        if progress:
            progress(created, missing)
    if created:
        _analyze(Author, Tag, Article, Comment, Article.tags.through)
    # bulk_create sends no signals: rebuild the cached responses here.
    bump_versions_on_commit(Author, Tag, Article, Comment)
    return created


def _analyze(*models: type[Model]) -> None:
    """Refresh the planner's statistics of the tables just filled, as autovacuum would a minute later (if it runs).

    Without them, PostgreSQL plans the article list for the handful of rows it last saw: a hash join and a sort of
    every published article instead of the index's first page.
    """
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
