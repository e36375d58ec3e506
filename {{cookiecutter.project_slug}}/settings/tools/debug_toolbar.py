"""django-debug-toolbar: SQL, cache and template panels on local pages, for INTERNAL_IPS only."""

from collections.abc import Mapping
from typing import Any

from . import Tool


def toolbar_settings(environment: str) -> Mapping[str, Any]:
    """Return the toolbar's settings; it shows itself only when DEBUG is on and the client is in INTERNAL_IPS."""
    return {"DEBUG_TOOLBAR_CONFIG": {"SHOW_COLLAPSED": True}}


TOOL = Tool(
    name="debug_toolbar",
    app="debug_toolbar",
    middleware="debug_toolbar.middleware.DebugToolbarMiddleware",
    url_prefix="__debug__/",
    urlconf="debug_toolbar.urls",
    settings=toolbar_settings,
    default_in=frozenset({"local"}),
    # It exposes settings, SQL and headers: it must never be reachable outside a developer's machine.
    allowed_in=frozenset({"local"}),
)
