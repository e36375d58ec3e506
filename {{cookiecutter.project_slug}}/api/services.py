"""Every write of the example API. Cached responses are invalidated by the model signals, on commit.

Bulk writes that send no signals (``update()``, ``bulk_create()``) call ``bump_versions_on_commit`` themselves,
as ``api.demo`` does.
"""

import secrets
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from rest_framework.exceptions import PermissionDenied, ValidationError

from api.models import Article, Author, Comment, Tag
from api.permissions import Requester, may_write_as


def _writing_author(*, user: Requester, requested: Author | None) -> Author:
    """Return the author an article is written as: the user's own, or any for staff."""
    if requested is not None:
        if may_write_as(user, requested):
            return requested
        raise PermissionDenied("Only staff may write as another author.")
    author = Author.objects.filter(user_id=user.pk).first() if user.pk is not None else None
    if author is None:
        raise ValidationError({"author": ["Your user has no author profile: ask staff to link one."]})
    return author


def _unique_slug(title: str) -> str:
    """Return a slug made from the title, with a random suffix when it is taken."""
    slug = slugify(title)[:180] or "article"
    if Article.objects.filter(slug=slug).exists():
        slug = f"{slug}-{secrets.token_hex(4)}"
    return slug


def _save(article: Article, tags: Iterable[Tag] | None) -> Article:
    """Save the article and its tags in one transaction, turning a lost slug race into a 400."""
    if article.status == Article.Status.PUBLISHED and article.published_at is None:
        article.published_at = timezone.now()
    try:
        with transaction.atomic():
            article.save()
            if tags is not None:
                article.tags.set(tags)
    except IntegrityError as exc:
        raise ValidationError({"slug": ["An article with this slug already exists."]}) from exc
    return article


def article_create(*, user: Requester, data: dict[str, Any]) -> Article:
    """Create an article from validated data, written as the user's author (or any author, for staff)."""
    fields = dict(data)
    tags = fields.pop("tags", [])
    author = _writing_author(user=user, requested=fields.pop("author", None))
    article = Article(author=author, **fields)
    article.slug = article.slug or _unique_slug(article.title)
    return _save(article, tags)


def article_update(*, article: Article, user: Requester, data: dict[str, Any]) -> Article:
    """Change an article from validated data; a PATCH sends only the fields it changes."""
    fields = dict(data)
    tags = fields.pop("tags", None)
    if "author" in fields:
        article.author = _writing_author(user=user, requested=fields.pop("author"))
    for name, value in fields.items():
        setattr(article, name, value)
    return _save(article, tags)


def article_delete(*, article: Article) -> None:
    """Delete an article with its comments."""
    article.delete()


def comment_create(*, article_id: int, data: dict[str, Any]) -> Comment:
    """Add a comment to a published article."""
    return Comment.objects.create(article_id=article_id, **data)
