"""The benchmark's stages: the article list built each way along the optimization path, under /bench/.

Only ``settings.bench`` mounts them (through ``tests.perf.urls``); no production URL map ever does. Every stage
serves the same first page of published articles, newest first, in the same item shape as ``GET /api/articles/``.
"""

import uuid
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from api.models import Article, Author, Tag
from api.views import ArticleListView
from core.toolkit.views import SlimView

# The bytes of the warm page, stored by the runner under this key for the two ceilings (plain view, bare WSGI).
RAW_KEY = "bench:raw-page"
MAX_PAGE_SIZE = 1000


class AuthorRefSerializer(serializers.ModelSerializer[Author]):
    """The author of a list item."""

    class Meta:
        model = Author
        fields = ["id", "name"]


class NaiveArticleSerializer(serializers.ModelSerializer[Article]):
    """A list item the textbook way: nested author, tag names, and the count asked of each article."""

    author = AuthorRefSerializer()
    tags = serializers.SlugRelatedField[Tag](slug_field="name", many=True, read_only=True)
    comment_count = serializers.SerializerMethodField()

    class Meta:
        model = Article
        fields = ["id", "title", "slug", "status", "published_at", "author", "tags", "comment_count"]

    def get_comment_count(self, article: Article) -> int:
        """Return the article's comment count, from an annotation when the queryset has one."""
        annotated: int | None = getattr(article, "annotated_comment_count", None)
        return article.comments.count() if annotated is None else annotated


class FirstPage(CursorPagination):
    """DRF's cursor pagination on the real list's ordering, sized by ?page_size= as the real list is."""

    ordering = ("-published_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


class PublicListView(generics.ListAPIView[Article]):
    """A ModelSerializer list with no authentication, permission or throttle work, as the slim views have."""

    serializer_class = NaiveArticleSerializer
    pagination_class = FirstPage
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []


class NaiveListView(PublicListView):
    """Stage 1: the N+1 baseline, with no select_related or prefetch_related."""

    def get_queryset(self) -> QuerySet[Article]:
        """Return the published articles, each fetching its author, tags and comment count on its own."""
        return Article.objects.filter(status=Article.Status.PUBLISHED)


class OptimizedListView(PublicListView):
    """Stage 2: the same serializer on select_related, prefetch_related and an annotated count."""

    def get_queryset(self) -> QuerySet[Article]:
        """Return the published articles with their author, tags and comment count fetched up front."""
        return (
            Article.objects.filter(status=Article.Status.PUBLISHED)
            .select_related("author")
            .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name", "id")))
            .annotate(annotated_comment_count=Count("comments"))
        )


class UncachedListView(ArticleListView):
    """Stage 3: the project's values() list, without its cache (nor the rows' JSON built by the database)."""

    json_in_database = False

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """Return DRF's response, with no cache lookup first."""
        return SlimView.dispatch(self, request, *args, **kwargs)

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Return the page, built and rendered by DRF every time."""
        return Response(self.read())


class ColdListView(ArticleListView):
    """Stage 4: the project's real list, under a new cache key each request, so every request misses."""

    # Nothing reads these entries again: let them go soon.
    cache_ttl = 60

    def cache_key(self, request: HttpRequest, kwargs: dict[str, Any], scope: str) -> str:
        """Return a key no request has used before."""
        return f"{super().cache_key(request, kwargs, scope)}:{uuid.uuid4().hex}"


def raw_page(request: HttpRequest) -> HttpResponse:
    """Stage 8: a plain Django function view returning the stored page bytes."""
    return HttpResponse(cache.get(RAW_KEY), content_type="application/json")


def page_items(body: Any) -> list[Any]:
    """Return the items of a stage's body, whatever its envelope."""
    items: list[Any] = body["results"] if isinstance(body, dict) else body
    return items
