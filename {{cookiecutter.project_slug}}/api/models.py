"""The example domain: authors write articles, tagged and commented on."""

import uuid

from django.conf import settings
from django.db import models

from core.toolkit.caching import track_models


class Author(models.Model):
    """Someone who writes articles, optionally linked to a user who may edit them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="author"
    )
    name = models.CharField(max_length=200)
    email = models.EmailField(unique=True)
    bio = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    """A label that groups articles."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    """A piece of writing, a draft until it is published."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="articles")
    tags = models.ManyToManyField(Tag, related_name="articles", blank=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [
            # The public list: published articles, newest first, keyset-paginated on (published_at, id).
            models.Index(fields=["status", "-published_at", "-id"], name="article_status_published"),
            models.Index(fields=["author", "status", "-published_at"], name="article_author_published"),
            models.Index(fields=["status", "title", "id"], name="article_status_title"),
        ]
        constraints = [
            # Keyset pagination orders the public list by published_at, so a published article must have one.
            models.CheckConstraint(
                condition=~models.Q(status="published") | models.Q(published_at__isnull=False),
                name="article_published_has_date",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Comment(models.Model):
    """A reader's comment on an article."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="comments")
    author_name = models.CharField(max_length=100)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["article", "-created_at"], name="comment_article_created")]

    def __str__(self) -> str:
        return f"{self.author_name} on {self.article_id}"


# Cached API responses that show these models are rebuilt after every committed change to them. An article's
# detail shows its comments, and an author's detail counts their articles: a change rebuilds that parent too.
track_models(Author, Tag)
track_models(Article, parents=("author",))
track_models(Comment, parents=("article",))


class ExportJob(models.Model):
    """An export of the published articles to a file, requested by a user and written by a Celery task."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Format(models.TextChoices):
        NDJSON = "ndjson", "NDJSON"
        CSV = "csv", "CSV"

    # Not a sequence number: a job's URL tells nothing about how many exports others ran.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_jobs")
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.NDJSON)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    rows = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "status"], name="exportjob_owner_status")]

    def __str__(self) -> str:
        return f"{self.format} export {self.id} ({self.status})"
