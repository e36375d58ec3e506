"""The example API's views: declarations of the cached reads from ``core.toolkit``, and the writes' wiring."""

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from api.models import Article, Author, Comment, Tag
from api.rows import ArticleRow, AuthorDetailRow, AuthorRow, CommentRow, TagRow
from api.selectors import (
    article_detail,
    articles_of_user,
    comments_of,
    published_article_exists,
    published_articles,
    stats,
)
from api.serializers import (
    ArticleDetailSerializer,
    ArticleFilters,
    ArticleWriteSerializer,
    CommentSerializer,
    StatsSerializer,
)
from api.services import NO_ARTICLE, article_create, article_delete, article_update, comment_create
from core.plumbing.throttling import ScopedRateThrottle
from core.toolkit.pagination import keyset
from core.toolkit.preconditions import etag_of
from core.toolkit.schema import documented_error, if_match_parameter
from core.toolkit.views import CachedDetailView, CachedListView, CachedReadView

ARTICLE_MODELS = (Article, Author, Tag, Comment)
ARTICLE_PAGES = keyset({
    "-published_at": ("-published_at", "-id"),
    "published_at": ("published_at", "id"),
    "title": ("title", "id"),
    "id": ("id",),
})  # fmt: skip
CHANGED = documented_error("The article changed since the ETag sent in If-Match.")
HIDDEN = documented_error("No article has this id, or it is a draft the user may not change (as on GET).")
# The schema of a PUT or PATCH of an article: its body, If-Match, and the 404 and 412 the services answer.
CONDITIONAL_CHANGE = extend_schema(
    request=ArticleWriteSerializer,
    parameters=[if_match_parameter()],
    responses={200: ArticleDetailSerializer, 404: HIDDEN, 412: CHANGED},
)


class ArticleListView(CachedListView):
    """Published articles, newest first; authors and staff post new ones here."""

    public_methods = ("GET",)
    serializer_class = ArticleRow
    write_serializer_class = ArticleWriteSerializer
    filter_class = ArticleFilters
    pagination_class = ARTICLE_PAGES
    cache_models = ARTICLE_MODELS

    def get_rows(self, filters: Mapping[str, Any]) -> QuerySet[Article]:
        """Return the published articles, filtered by tag and author."""
        return published_articles(**filters)

    @extend_schema(request=ArticleWriteSerializer, responses={201: ArticleDetailSerializer})
    def post(self, request: Request) -> Response:
        """Create an article as the user's author (staff may name another)."""
        serializer = ArticleWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        article = article_create(user=request.user, data=serializer.validated_data)
        return _written(article.pk, status.HTTP_201_CREATED)


class ArticleDetailView(CachedReadView):
    """One published article in full; its author or staff change and delete it.

    Who may change which article is the services' to decide, under the article's lock: someone else's draft is a
    404 as on GET, someone else's published article a 403.
    """

    public_methods = ("GET",)
    permission_classes = [IsAuthenticated]  # PUT, PATCH and DELETE
    serializer_class = ArticleDetailSerializer
    write_serializer_class = ArticleWriteSerializer
    cache_object = Article
    cache_models = (Author, Tag)
    not_found = NO_ARTICLE

    def read(self, pk: int) -> Any:
        """Return the article with its author, tags and latest comments."""
        article = article_detail(article_id=pk)
        if article is None:
            raise NotFound(NO_ARTICLE)
        return ArticleDetailSerializer(article).data

    @CONDITIONAL_CHANGE
    def put(self, request: Request, pk: int) -> Response:
        """Replace the article's fields."""
        return self._update(request, pk, partial=False)

    @CONDITIONAL_CHANGE
    def patch(self, request: Request, pk: int) -> Response:
        """Change some of the article's fields."""
        return self._update(request, pk, partial=True)

    @extend_schema(parameters=[if_match_parameter()], responses={204: None, 404: HIDDEN, 412: CHANGED})
    def delete(self, request: Request, pk: int) -> Response:
        """Delete the article and its comments."""
        article_delete(article_id=pk, user=request.user, if_match=request.headers.get("If-Match"))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _update(self, request: Request, pk: int, *, partial: bool) -> Response:
        """Validate and apply a PUT or PATCH."""
        serializer = ArticleWriteSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        article_update(article_id=pk, user=request.user, data=data, if_match=request.headers.get("If-Match"))
        return _written(pk)


def _written(article_id: int, status_code: int = status.HTTP_200_OK) -> Response:
    """Return the written article's detail, drafts included, with the ETag a later If-Match is compared to."""
    detail = article_detail(article_id=article_id, published_only=False)
    if detail is None:  # deleted by someone else in between
        raise NotFound(NO_ARTICLE)
    data = ArticleDetailSerializer(detail).data
    # A draft has no GET, so a write's response is where its author gets the ETag for the next conditional write.
    return Response(data, status=status_code, headers={"ETag": etag_of(data)})


class ArticleCommentListView(CachedListView):
    """The comments on a published article; anyone may post one, a few a minute."""

    public_methods = ("GET",)
    # POST: open to anyone too, but throttled.
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "comments"
    serializer_class = CommentRow
    write_serializer_class = CommentSerializer
    pagination_class = keyset({"-created_at": ("-created_at", "-id")})
    cache_object = Article
    not_found = NO_ARTICLE

    def get_rows(self, filters: Mapping[str, Any]) -> QuerySet[Comment]:
        """Return the article's comments, or raise a 404 unless it is published."""
        article_id = self.kwargs["pk"]
        _require_published(article_id)
        return comments_of(article_id=article_id)

    @extend_schema(request=CommentSerializer, responses={201: CommentSerializer, 404: documented_error(NO_ARTICLE)})
    def post(self, request: Request, pk: int) -> Response:
        """Add a comment."""
        serializer = CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _require_published(pk)
        comment = comment_create(article_id=pk, data=serializer.validated_data)
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


def _require_published(article_id: int) -> None:
    """Raise a 404 unless a published article has this id."""
    if not published_article_exists(article_id=article_id):
        raise NotFound(NO_ARTICLE)


class AuthorListView(CachedListView):
    """Authors by name, with their published article counts."""

    public_methods = ("GET",)
    serializer_class = AuthorRow
    pagination_class = keyset({"name": ("name", "id")})
    cache_models = (Author, Article)


class AuthorDetailView(CachedDetailView):
    """One author, with their bio and published article count."""

    public_methods = ("GET",)
    serializer_class = AuthorDetailRow
    cache_object = Author  # its articles reach it through track_models(Article, parents=("author",))
    not_found = "No author has this id."


class TagListView(CachedListView):
    """Tags by name, with their published article counts."""

    public_methods = ("GET",)
    serializer_class = TagRow
    pagination_class = keyset({"name": ("name", "id")})
    cache_models = (Tag, Article)


class StatsView(CachedReadView):
    """Counts over the whole API: articles by status, the ten most used tags, the comments of the last 7 days."""

    public_methods = ("GET",)
    serializer_class = StatsSerializer
    cache_models = (Article, Tag, Comment)
    # "Last 7 days" moves with the clock, not only with writes: rebuild at least once a minute.
    cache_ttl = 60

    def read(self) -> Any:
        """Return the counts, three aggregate queries."""
        return stats()


class MyArticleListView(CachedListView):
    """The signed-in user's own articles, newest first, drafts included: cached per user and sent as private."""

    permission_classes = [IsAuthenticated]
    serializer_class = ArticleRow
    pagination_class = keyset({"-id": ("-id",)})
    cache_models = ARTICLE_MODELS
    cache_per_user = True

    def get_rows(self, filters: Mapping[str, Any]) -> QuerySet[Article]:
        """Return the user's articles."""
        user_id = self.request.user.pk
        assert user_id is not None  # IsAuthenticated has run
        return articles_of_user(user_id=user_id)
