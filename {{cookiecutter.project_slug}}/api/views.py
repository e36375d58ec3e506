"""The example API's views: thin wiring of selectors, services and the cached slim reads from ``core``."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.models import Article, Author, Comment, Tag
from api.selectors import (
    ARTICLE_ORDERINGS,
    AUTHOR_ORDERINGS,
    COMMENT_ORDERINGS,
    MY_ARTICLE_ORDERINGS,
    TAG_ORDERINGS,
    article_detail,
    article_list,
    article_rows,
    author_article_list,
    author_detail,
    author_list,
    comment_list,
    published_article_exists,
    stats,
    tag_id_for_slug,
    tag_list,
)
from api.serializers import (
    ArticleDetailSerializer,
    ArticleListFilterSerializer,
    ArticleListItemSerializer,
    ArticleWriteSerializer,
    AuthorDetailSerializer,
    AuthorListItemSerializer,
    CommentSerializer,
    StatsSerializer,
    TagListItemSerializer,
)
from api.services import NO_ARTICLE, article_create, article_delete, article_update, comment_create
from core.plumbing.throttling import ScopedRateThrottle
from core.toolkit.pagination import KeysetPagination
from core.toolkit.preconditions import etag_of
from core.toolkit.schema import documented_error, if_match_parameter, keyset_page, keyset_parameters
from core.toolkit.views import CachedReadMixin, PublicReadView

ARTICLE_PAGES = KeysetPagination(ARTICLE_ORDERINGS, default="-published_at")
AUTHOR_PAGES = KeysetPagination(AUTHOR_ORDERINGS, default="name")
TAG_PAGES = KeysetPagination(TAG_ORDERINGS, default="name")
COMMENT_PAGES = KeysetPagination(COMMENT_ORDERINGS, default="-created_at")
MY_ARTICLE_PAGES = KeysetPagination(MY_ARTICLE_ORDERINGS, default="-id")
PAGE_PARAMS = ("cursor", "ordering", "page_size")
ARTICLE_MODELS = (Article, Author, Tag, Comment)
NOT_FOUND = documented_error(NO_ARTICLE)
CHANGED = documented_error("The article changed since the ETag sent in If-Match.")
HIDDEN = documented_error("No article has this id, or it is a draft the user may not change (as on GET).")
# The schema of a PUT or PATCH of an article: its body, If-Match, and the 404 and 412 the services answer.
CONDITIONAL_CHANGE = extend_schema(
    request=ArticleWriteSerializer,
    parameters=[if_match_parameter()],
    responses={200: ArticleDetailSerializer, 404: HIDDEN, 412: CHANGED},
)


def _article_or_404(article_id: int) -> Article:
    """Return the published article in its detail shape, or raise a 404."""
    article = article_detail(article_id=article_id)
    if article is None:
        raise NotFound(NO_ARTICLE)
    return article


def _require_published(article_id: int) -> None:
    """Raise a 404 unless a published article has this id."""
    if not published_article_exists(article_id=article_id):
        raise NotFound(NO_ARTICLE)


class ArticleListView(CachedReadMixin, PublicReadView):
    """Published articles, newest first; authors and staff post new ones here."""

    cache_models = ARTICLE_MODELS
    cache_query_params = ("author", "tag", *PAGE_PARAMS)

    @extend_schema(
        operation_id="articles_list",
        parameters=[ArticleListFilterSerializer, *keyset_parameters(ARTICLE_PAGES)],
        responses=keyset_page("ArticleList", ArticleListItemSerializer),
    )
    def get(self, request: Request) -> Response:
        """Return a page of published articles, built from values() rows."""
        filters = ArticleListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        tag_slug = filters.validated_data.get("tag")
        tag_id = tag_id_for_slug(slug=tag_slug) if tag_slug else None
        if tag_slug and tag_id is None:
            raise ValidationError({"tag": [f"No tag has the slug {tag_slug!r}."]})
        rows = article_list(tag_id=tag_id, author_id=filters.validated_data.get("author"))
        page = ARTICLE_PAGES.paginate(rows, request, params=filters.validated_data)
        return Response(page.data(article_rows(page.rows)))

    @extend_schema(request=ArticleWriteSerializer, responses={201: ArticleDetailSerializer})
    def post(self, request: Request) -> Response:
        """Create an article as the user's author (staff may name another)."""
        serializer = ArticleWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        article = article_create(user=request.user, data=serializer.validated_data)
        return _written(article.pk, status.HTTP_201_CREATED)


def _written(article_id: int, status_code: int = status.HTTP_200_OK) -> Response:
    """Return the written article's detail, drafts included, with the ETag a later If-Match is compared to."""
    detail = article_detail(article_id=article_id, published_only=False)
    if detail is None:  # deleted by someone else in between
        raise NotFound(NO_ARTICLE)
    data = ArticleDetailSerializer(detail).data
    # A draft has no GET, so a write's response is where its author gets the ETag for the next conditional write.
    return Response(data, status=status_code, headers={"ETag": etag_of(data)})


class ArticleDetailView(CachedReadMixin, PublicReadView):
    """One published article in full; its author or staff change and delete it.

    Who may change which article is the services' to decide, under the article's lock: someone else's draft is a
    404 as on GET, someone else's published article a 403.
    """

    cache_object = Article
    cache_models = (Author, Tag)
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: ArticleDetailSerializer, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        """Return the article with its author, tags and latest comments."""
        return Response(ArticleDetailSerializer(_article_or_404(pk)).data)

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


class ArticleCommentListView(CachedReadMixin, PublicReadView):
    """The comments on a published article; anyone may post one, a few a minute."""

    cache_object = Article
    cache_query_params = PAGE_PARAMS
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "comments"

    @extend_schema(
        operation_id="articles_comments_list",
        parameters=keyset_parameters(COMMENT_PAGES),
        responses={200: keyset_page("CommentList", CommentSerializer), 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        """Return a page of the article's comments, newest first."""
        _require_published(pk)
        page = COMMENT_PAGES.paginate(comment_list(article_id=pk), request, params={})
        return Response(page.data(page.rows))

    @extend_schema(request=CommentSerializer, responses={201: CommentSerializer, 404: NOT_FOUND})
    def post(self, request: Request, pk: int) -> Response:
        """Add a comment."""
        serializer = CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _require_published(pk)
        comment = comment_create(article_id=pk, data=serializer.validated_data)
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class AuthorListView(CachedReadMixin, PublicReadView):
    """Authors by name."""

    cache_models = (Author, Article)
    cache_query_params = PAGE_PARAMS

    @extend_schema(
        operation_id="authors_list",
        parameters=keyset_parameters(AUTHOR_PAGES),
        responses=keyset_page("AuthorList", AuthorListItemSerializer),
    )
    def get(self, request: Request) -> Response:
        """Return a page of authors with their published article counts."""
        page = AUTHOR_PAGES.paginate(author_list(), request, params={})
        return Response(page.data(page.rows))


class AuthorDetailView(CachedReadMixin, PublicReadView):
    """One author."""

    cache_object = Author

    @extend_schema(responses={200: AuthorDetailSerializer, 404: documented_error("No author has this id.")})
    def get(self, request: Request, pk: int) -> Response:
        """Return the author with their bio and published article count."""
        author = author_detail(author_id=pk)
        if author is None:
            raise NotFound("No author has this id.")
        return Response(author)


class TagListView(CachedReadMixin, PublicReadView):
    """Tags by name."""

    cache_models = (Tag, Article)
    cache_query_params = PAGE_PARAMS

    @extend_schema(
        operation_id="tags_list",
        parameters=keyset_parameters(TAG_PAGES),
        responses=keyset_page("TagList", TagListItemSerializer),
    )
    def get(self, request: Request) -> Response:
        """Return a page of tags with their published article counts."""
        page = TAG_PAGES.paginate(tag_list(), request, params={})
        return Response(page.data(page.rows))


class StatsView(CachedReadMixin, PublicReadView):
    """Counts over the whole API."""

    cache_models = (Article, Tag, Comment)
    # "Last 7 days" moves with the clock, not only with writes: rebuild at least once a minute.
    cache_ttl = 60

    @extend_schema(responses=StatsSerializer)
    def get(self, request: Request) -> Response:
        """Return article counts by status, the ten most used tags and the comments of the last 7 days."""
        return Response(stats())


class MyArticleListView(CachedReadMixin, APIView):
    """The signed-in user's own articles, drafts included: cached per user and sent as private."""

    cache_models = ARTICLE_MODELS
    cache_query_params = PAGE_PARAMS
    cache_per_user = True
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_articles_list",
        parameters=keyset_parameters(MY_ARTICLE_PAGES),
        responses=keyset_page("MyArticleList", ArticleListItemSerializer),
    )
    def get(self, request: Request) -> Response:
        """Return a page of the user's articles, newest first."""
        user_id = request.user.pk
        assert user_id is not None  # IsAuthenticated has run
        page = MY_ARTICLE_PAGES.paginate(author_article_list(user_id=user_id), request, params={})
        return Response(page.data(article_rows(page.rows)))
