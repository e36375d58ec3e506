"""Stage 7: django-ninja serving the project's ``values()`` rows, the peer users weigh against DRF.

It runs the same two queries as the real list, validates the page against a response schema, as ninja code does,
and renders it with the project's orjson settings, as ninja's docs advise for speed, so the bodies match.
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import NinjaAPI, Schema
from ninja.renderers import BaseRenderer

from api.rows import ArticleRow
from api.selectors import published_articles
from core.toolkit.renderers import dumps
from tests.perf.stages import MAX_PAGE_SIZE


class ORJSONRenderer(BaseRenderer):
    """ninja's renderer on the project's orjson options."""

    media_type = "application/json"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        """Return data as the project's JSON bytes."""
        return dumps(data)


class AuthorRef(Schema):
    """The author of a list item."""

    id: int
    name: str


class ArticleItem(Schema):
    """A list item, in the shape of ``GET /api/articles/``'s."""

    id: int
    title: str
    slug: str
    status: str
    published_at: datetime | None
    author: AuthorRef
    tags: list[str]
    comment_count: int


api = NinjaAPI(renderer=ORJSONRenderer(), urls_namespace="bench-ninja", docs_url=None, openapi_url=None)


@api.get("/articles/", response=list[ArticleItem])
def articles(request: HttpRequest, page_size: int = 50) -> list[dict[str, Any]]:
    """Return the first page of published articles, newest first."""
    rows = ArticleRow.select(published_articles()).order_by("-published_at", "-id")
    return ArticleRow.complete(list(rows[: max(1, min(page_size, MAX_PAGE_SIZE))]))
