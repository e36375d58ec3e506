"""Serializers of the example API: input validation, detail shapes, and the documented shape of each list row.

List rows are built from ``values()`` by the selectors, not by these serializers; the ``*ListItemSerializer``
classes only describe those rows to the OpenAPI schema.
"""

from typing import Any

from django.http import QueryDict
from rest_framework import serializers

from api.models import Article, Author, Comment, Tag

MAX_ID = 2**63 - 1


class ArticleListFilterSerializer(serializers.Serializer[Any]):
    """The filters of the article list, from the query string: a filter sent empty is refused, not ignored."""

    tag = serializers.SlugField(required=False, max_length=100, help_text="Only articles with this tag slug.")
    author = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Only articles by this author id."
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """Return the validated filters; ``?tag=`` is a 400, as the schema's minLength says, rather than no filter."""
        # DRF reads an empty form value of an optional field as absent; from a plain dict it validates it.
        values = data.dict() if isinstance(data, QueryDict) else data
        validated: dict[str, Any] = super().to_internal_value(values)
        return validated


class AuthorRefSerializer(serializers.Serializer[Any]):
    """An article's author in a list row."""

    id = serializers.IntegerField()
    name = serializers.CharField()


class ArticleListItemSerializer(serializers.Serializer[Any]):
    """One row of the article list."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    slug = serializers.SlugField()
    status = serializers.ChoiceField(choices=Article.Status.choices)
    published_at = serializers.DateTimeField(allow_null=True)
    author = AuthorRefSerializer()
    tags = serializers.ListField(child=serializers.CharField(), help_text="Tag names, in name order.")
    comment_count = serializers.IntegerField()


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


class CommentSerializer(serializers.ModelSerializer[Comment]):
    """A comment, as listed and as posted."""

    class Meta:
        model = Comment
        fields = ["id", "author_name", "body", "created_at"]
        read_only_fields = ["id", "created_at"]


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


class ArticleWriteSerializer(serializers.ModelSerializer[Article]):
    """The fields a writer sends to create or change an article."""

    slug = serializers.SlugField(max_length=200, required=False, help_text="Made from the title when left out.")
    tags = serializers.SlugRelatedField(
        many=True, slug_field="slug", queryset=Tag.objects.all(), required=False, help_text="Tag slugs."
    )
    author = serializers.PrimaryKeyRelatedField(
        queryset=Author.objects.all(), required=False, help_text="Staff only; others write as their own author."
    )

    class Meta:
        model = Article
        fields = ["title", "slug", "body", "status", "tags", "author"]


class AuthorListItemSerializer(serializers.Serializer[Any]):
    """One row of the author list."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    article_count = serializers.IntegerField(help_text="Published articles.")


class AuthorDetailSerializer(AuthorListItemSerializer):
    """An author with their bio."""

    bio = serializers.CharField()
    created_at = serializers.DateTimeField()


class TagListItemSerializer(serializers.Serializer[Any]):
    """One row of the tag list."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.SlugField()
    article_count = serializers.IntegerField(help_text="Published articles.")


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
