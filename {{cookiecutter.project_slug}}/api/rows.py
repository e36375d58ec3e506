"""The rows of the example API's lists and author detail: each shape is its ``values()`` query and its schema.

No row is built by a serializer at request time: ``select()`` asks the database for these columns, with counts
computed there as correlated subqueries evaluated only for the rows of the page.
"""

from rest_framework import serializers

from api.models import Article, Author, Comment, Tag
from core.toolkit.rows import Row, count_of

PUBLISHED_ARTICLES = "Published articles."
_published = Article.objects.filter(status=Article.Status.PUBLISHED)
_published_links = Article.tags.through.objects.filter(article__status=Article.Status.PUBLISHED)


class AuthorRef(Row[Author]):
    """An article's author in a list row."""

    class Meta:
        model = Author
        fields = ["id", "name"]


class ArticleRow(Row[Article]):
    """One row of an article list."""

    author = AuthorRef()
    tags = serializers.ListField(
        child=serializers.CharField(), source="tags.name", help_text="Tag names, in name order."
    )
    comment_count = serializers.IntegerField()

    class Meta:
        model = Article
        fields = ["id", "title", "slug", "status", "published_at", "author", "tags", "comment_count"]
        annotations = {"comment_count": count_of(Comment.objects.all(), "article")}


class AuthorRow(Row[Author]):
    """One row of the author list."""

    article_count = serializers.IntegerField(help_text=PUBLISHED_ARTICLES)

    class Meta:
        model = Author
        fields = ["id", "name", "article_count"]
        annotations = {"article_count": count_of(_published, "author")}


class AuthorDetailRow(AuthorRow):
    """An author with their bio."""

    class Meta(AuthorRow.Meta):
        fields = ["id", "name", "bio", "created_at", "article_count"]


class TagRow(Row[Tag]):
    """One row of the tag list."""

    article_count = serializers.IntegerField(help_text=PUBLISHED_ARTICLES)

    class Meta:
        model = Tag
        fields = ["id", "name", "slug", "article_count"]
        annotations = {"article_count": count_of(_published_links, "tag")}


class CommentRow(Row[Comment]):
    """One row of an article's comments."""

    class Meta:
        model = Comment
        fields = ["id", "author_name", "body", "created_at"]
