"""Admin for the example domain, with the same query care as the API: no N+1 on any change list."""

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from api.models import Article, Author, Comment, Tag


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin[Author]):
    """Authors, searchable by name and email."""

    list_display = ["name", "email", "user", "created_at"]
    list_select_related = ["user"]
    search_fields = ["name", "email"]
    raw_id_fields = ["user"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin[Tag]):
    """Tags, with their slug filled from the name."""

    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin[Article]):
    """Articles, with their author joined and comments counted in the list query."""

    list_display = ["title", "author", "status", "published_at", "comment_count"]
    list_filter = ["status", "tags"]
    list_select_related = ["author"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    raw_id_fields = ["author"]
    filter_horizontal = ["tags"]
    date_hierarchy = "published_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Article]:
        """Return articles annotated with their comment count, one query for the whole page."""
        return super().get_queryset(request).annotate(comment_total=Count("comments"))

    @admin.display(description="comments", ordering="comment_total")
    def comment_count(self, article: Article) -> int:
        """Return the article's annotated comment count."""
        return int(getattr(article, "comment_total", 0))


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin[Comment]):
    """Comments, newest first, with their article joined."""

    list_display = ["author_name", "article", "created_at"]
    list_select_related = ["article"]
    search_fields = ["author_name", "body"]
    raw_id_fields = ["article"]
