"""The browsable API of local development, whose pages' next and previous links can be clicked.

The paginators write those links relative to the host (``/api/articles/?cursor=...``), as the JSON API keeps them;
the page's ``urlize`` only turns absolute URLs into links, so the displayed copy gets the request's scheme and host.
"""

from collections.abc import Mapping
from typing import Any

from rest_framework import renderers
from rest_framework.request import Request

PAGE_LINKS = ("next", "previous")


def absolute_page_links(data: Any, request: Request) -> Any:
    """Return data with its top-level relative next and previous links made absolute; anything else as it is."""
    if not isinstance(data, Mapping):
        return data
    relative = {key: data[key] for key in PAGE_LINKS if isinstance(data.get(key), str) and data[key].startswith("/")}
    if not relative:
        return data
    return {**data, **{key: request.build_absolute_uri(link) for key, link in relative.items()}}


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's browsable API, showing a page's next and previous links as absolute URLs so they render as links."""

    def get_content(
        self,
        renderer: renderers.BaseRenderer,
        data: Any,
        accepted_media_type: str | None,
        renderer_context: Mapping[str, Any],
    ) -> str:
        """Return the displayed body, its relative page links made absolute."""
        data = absolute_page_links(data, renderer_context["request"])
        return super().get_content(renderer, data, accepted_media_type, renderer_context)
