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
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError

from api.models import Article, Author, Comment, Tag
from api.permissions import CHANGE_REFUSED, Requester, may_change, may_know_of, may_write_as
from api.selectors import article_detail, article_for_update
from api.serializers import ArticleDetailSerializer
from core.toolkit.preconditions import check_if_match, etag_of

NO_ARTICLE = "No published article has this id."
SLUG_TAKEN = "An article with this slug already exists."
# Attempts at a generated slug before giving up: the first is the bare title's, the others add a random suffix, so
# only a concurrent create of the same title makes a second one necessary.
SLUG_ATTEMPTS = 5


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


def _slug_candidates(title: str) -> list[str]:
    """Return the slugs to try for the title, in order: the bare one unless it is taken, then random suffixes."""
    slug = slugify(title)[:180] or "article"
    bare = [] if Article.objects.filter(slug=slug).exists() else [slug]
    return [*bare, *(f"{slug}-{secrets.token_hex(4)}" for _ in range(SLUG_ATTEMPTS))][:SLUG_ATTEMPTS]


def _publish_date(article: Article) -> set[str]:
    """Date a newly published article; return the fields this changed."""
    if article.status == Article.Status.PUBLISHED and article.published_at is None:
        article.published_at = timezone.now()
        return {"published_at"}
    return set()


def _save(article: Article, tags: Iterable[Tag] | None, update_fields: Iterable[str] | None = None) -> Article:
    """Save the article and its tags in one transaction (a savepoint inside another), a taken slug as a 400."""
    try:
        with transaction.atomic():
            article.save(update_fields=update_fields)
            if tags is not None:
                article.tags.set(tags)
    except IntegrityError as exc:
        if not Article.objects.filter(slug=article.slug).exclude(pk=article.pk).exists():
            raise
        raise ValidationError({"slug": [SLUG_TAKEN]}) from exc
    return article


def article_create(*, user: Requester, data: dict[str, Any]) -> Article:
    """Create an article from validated data, written as the user's author (or any author, for staff)."""
    fields = dict(data)
    tags = fields.pop("tags", [])
    author = _writing_author(user=user, requested=fields.pop("author", None))
    article = Article(author=author, **fields)
    _publish_date(article)
    if article.slug:  # the client's own: a taken one is the client's to change
        return _save(article, tags)
    *retries, last = _slug_candidates(article.title)
    for slug in retries:
        article.slug = slug
        try:
            return _save(article, tags)
        except ValidationError:
            # Race: a concurrent create took this slug after the check; only the savepoint was rolled back.
            continue
    article.slug = last
    return _save(article, tags)


def _article_to_change(*, article_id: int, user: Requester, if_match: str | None) -> Article:
    """Return the article locked for a change by the user, or raise a 404, 403 or 412."""
    article = article_for_update(article_id=article_id)
    # Someone else's draft is a 404, as on GET: a 403 would tell that an unpublished article has this id.
    if article is None or not may_know_of(user, article):
        raise NotFound(NO_ARTICLE)
    if not may_change(user, article):
        raise PermissionDenied(CHANGE_REFUSED)
    check_if_match(if_match, lambda: article_etag(article_id=article_id))
    return article


def article_etag(*, article_id: int) -> str:
    """Return the ETag of the article's current detail, drafts included: the one its GET and writes send."""
    detail = article_detail(article_id=article_id, published_only=False)
    return etag_of(ArticleDetailSerializer(detail).data)


def article_update(*, article_id: int, user: Requester, data: dict[str, Any], if_match: str | None = None) -> Article:
    """Change the fields of an article sent in validated data, if the ETag in ``if_match`` is still its own.

    The article is read under its row lock and only the fields sent are written, so concurrent changes to other
    fields are kept; tags are replaced only when sent.
    """
    fields = dict(data)
    tags = fields.pop("tags", None)
    with transaction.atomic():
        article = _article_to_change(article_id=article_id, user=user, if_match=if_match)
        if "author" in fields:
            fields["author"] = _writing_author(user=user, requested=fields["author"])
        for name, value in fields.items():
            setattr(article, name, value)
        changed = {*fields, *_publish_date(article), "updated_at"}
        return _save(article, tags, update_fields=changed)


def article_delete(*, article_id: int, user: Requester, if_match: str | None = None) -> None:
    """Delete an article with its comments, if the ETag in ``if_match`` is still its own."""
    with transaction.atomic():
        _article_to_change(article_id=article_id, user=user, if_match=if_match).delete()


def comment_create(*, article_id: int, data: dict[str, Any]) -> Comment:
    """Add a comment to a published article."""
    return Comment.objects.create(article_id=article_id, **data)
