"""Serializers of the example API: input validation and the shapes built from model instances.

The rows of lists are not here: ``api.rows`` declares them, and the database builds them.
"""

from typing import Any, TypeVar

from django.conf import settings
from django.db import models
from django.http import QueryDict
from rest_framework import serializers

from api.models import Article, Author, Comment, Tag
from api.selectors import tag_id_for_slug
from core.plumbing.parsers import plain_values

MAX_ID = 2**63 - 1
_M = TypeVar("_M", bound=models.Model)


class StrictCharField(serializers.CharField):
    """A text field that takes strings only, where DRF's CharField turns the number 123 into "123"."""

    default_error_messages = {"not_a_string": "Not a valid string."}

    def to_internal_value(self, data: Any) -> str:
        """Return the validated string, refusing any other JSON type, and a string longer than the maximum."""
        if not isinstance(data, str):
            self.fail("not_a_string")
        # Measured as sent, as the schema's maxLength is: DRF measures after trimming the whitespace at either end,
        # so 201 characters, one of them a leading space, would pass a maximum of 200.
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class StrictSlugField(StrictCharField, serializers.SlugField):
    """A slug that must be sent as a string."""


class StrictModelSerializer(serializers.ModelSerializer[_M]):
    """A model serializer whose text fields, generated or not, take strings only, and forms are read as JSON is."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.SlugField: StrictSlugField,
    }

    def to_internal_value(self, data: Any) -> Any:
        """Return the validated fields; an empty form value is a value, as in JSON, not a field left out."""
        # DRF reads ``status=`` in a form as "status not sent" and applies the default, where the schema (and the
        # same body in JSON) says "" is not a status: the 400 the JSON body gets.
        if isinstance(data, QueryDict):
            data = plain_values(data, self.fields)
        return super().to_internal_value(data)


class TagSlugsField(serializers.ListField):
    """Tag slugs, at most ``settings.API_MAX_TAGS``, resolved to tags in one query whatever their number."""

    child = StrictSlugField(max_length=100)
    default_error_messages = {"unknown": "No tag has the slug {slugs}."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=settings.API_MAX_TAGS, **kwargs)

    def to_internal_value(self, data: Any) -> list[Tag]:
        """Return the tags, refusing too many slugs before validating any, and naming the unknown ones."""
        if isinstance(data, list) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        try:
            slugs = set(super().to_internal_value(data))
        except serializers.ValidationError as exc:
            raise serializers.ValidationError(_item_messages(exc.detail)) from exc
        tags = list(Tag.objects.filter(slug__in=slugs))
        unknown = sorted(slugs - {tag.slug for tag in tags})
        if unknown:
            self.fail("unknown", slugs=", ".join(repr(slug) for slug in unknown))
        return tags

    def to_representation(self, data: Any) -> list[str]:
        """Return the slugs of the tags."""
        return _slugs(data)


def _slugs(tags: Any) -> list[str]:
    """Return the slugs of tags given as a related manager (an article's, in the browsable API's form) or a list."""
    return [tag.slug for tag in (tags.all() if hasattr(tags, "all") else tags)]


def _item_messages(detail: Any) -> list[str]:
    """Return a list field's errors as flat messages ("Item 2: ..."), the shape of every other field's errors."""
    if not isinstance(detail, dict):
        return [str(message) for message in detail]
    return [f"Item {index}: {message}" for index, messages in detail.items() for message in messages]


class ArticleFilters(serializers.Serializer[Any]):
    """The filters of the article list, from the query string: a filter sent empty is refused, not ignored."""

    tag = serializers.SlugField(required=False, max_length=100, help_text="Only articles with this tag slug.")
    author = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Only articles by this author id."
    )

    def validate_tag(self, slug: str) -> int:
        """Return the id of the tag with this slug, or refuse a slug no tag has."""
        tag_id = tag_id_for_slug(slug=slug)
        if tag_id is None:
            raise serializers.ValidationError(f"No tag has the slug {slug!r}.")
        return tag_id


class AuthorSerializer(serializers.ModelSerializer[Author]):
    """An article's author in the article detail."""

    class Meta:
        model = Author
        fields = ["id", "name", "bio"]
        read_only_fields = fields  # a response shape: every field is always there


class TagSerializer(serializers.ModelSerializer[Tag]):
    """A tag in the article detail."""

    class Meta:
        model = Tag
        fields = ["id", "name", "slug"]


class CommentSerializer(StrictModelSerializer[Comment]):
    """A comment, as listed and as posted."""

    class Meta:
        model = Comment
        fields = ["id", "author_name", "body", "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"body": {"max_length": settings.API_MAX_COMMENT_BODY}}


class ArticleDetailSerializer(serializers.ModelSerializer[Article]):
    """An article with its body, author, tags and latest comments, from ``article_detail``."""

    author = AuthorSerializer()
    tags = TagSerializer(many=True)
    latest_comments = CommentSerializer(many=True, help_text="The five newest comments.")
    comment_count = serializers.IntegerField()

    class Meta:
        model = Article
        fields = [
            "id", "title", "slug", "status", "published_at", "updated_at",
            "body", "author", "tags", "comment_count", "latest_comments",
        ]  # fmt: skip
        read_only_fields = fields  # a response shape: every field is always there, null or not


class ArticleWriteSerializer(StrictModelSerializer[Article]):
    """The fields a writer sends to create or change an article."""

    slug = StrictSlugField(
        max_length=200, required=False, allow_blank=True, help_text="Made from the title when left out or empty."
    )
    tags = TagSlugsField(required=False, help_text="Tag slugs.")
    author = serializers.PrimaryKeyRelatedField(
        queryset=Author.objects.all(), required=False, help_text="Staff only; others write as their own author."
    )

    class Meta:
        model = Article
        fields = ["title", "slug", "body", "status", "tags", "author"]
        extra_kwargs = {"body": {"max_length": settings.API_MAX_ARTICLE_BODY}}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Return the fields, refusing a PATCH that sends none: it would change nothing yet still be checked."""
        if attrs.get("slug") == "":
            del attrs["slug"]  # the server makes one (a create) or keeps the current one (a change)
        if self.partial and not attrs:
            raise serializers.ValidationError(f"Send at least one of: {', '.join(self.Meta.fields)}.")
        return attrs


class TopTagSerializer(serializers.Serializer[Any]):
    """A tag among the most used."""

    slug = serializers.SlugField()
    name = serializers.CharField()
    article_count = serializers.IntegerField()


class StatsSerializer(serializers.Serializer[Any]):
    """Counts over the whole API, computed in the database."""

    articles_by_status = serializers.DictField(child=serializers.IntegerField())
    top_tags = TopTagSerializer(many=True)
    comments_last_7_days = serializers.IntegerField()
