"""The site's icon at /favicon.ico, where browsers ask for it on every page (the admin, the docs) whatever it links."""

from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

ICON = (Path(__file__).resolve().parent.parent / "static" / "core" / "favicon.ico").read_bytes()
# A day: the URL carries no version, so a changed icon reaches every browser within one.
MAX_AGE = 86_400


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """Return the icon, which browsers and shared caches may keep for MAX_AGE seconds."""
    response = HttpResponse(ICON, content_type="image/x-icon")
    patch_cache_control(response, public=True, max_age=MAX_AGE)
    return response
