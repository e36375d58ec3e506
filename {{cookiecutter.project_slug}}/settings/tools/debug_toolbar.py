"""django-debug-toolbar: SQL, cache and template panels on local pages, for INTERNAL_IPS only."""

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest

from . import Tool


def show_toolbar(request: HttpRequest) -> bool:
    """Return whether the toolbar handles a request: DEBUG on, a client in INTERNAL_IPS, a page a browser asked for.

    API calls (curl, fetch, Swagger UI's "Try it out") are left alone, so they keep the project's own Server-Timing
    header, which the toolbar would replace with its own, and their timings carry none of the toolbar's overhead.
    """
    # Imported here: the toolbar's modules need the settings this module helps to build.
    from debug_toolbar.middleware import show_toolbar as internal_client

    asks_for_html = "text/html" in request.headers.get("Accept", "")
    return internal_client(request) and (asks_for_html or request.path.startswith("/__debug__/"))


def toolbar_settings(environment: str) -> Mapping[str, Any]:
    """Return the toolbar's settings; it shows itself only on HTML pages, with DEBUG on, for INTERNAL_IPS."""
    return {
        "DEBUG_TOOLBAR_CONFIG": {
            "SHOW_COLLAPSED": True,
            "SHOW_TOOLBAR_CALLBACK": f"{__name__}.show_toolbar",
        }
    }


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
    page=(
        "/admin/",
        "django-debug-toolbar: the panel on the right of every HTML page here (this one, the admin, the browsable "
        "API: open an API URL in the browser), for INTERNAL_IPS",
    ),
)
