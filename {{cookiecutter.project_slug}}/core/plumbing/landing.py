"""The landing page: links to the docs, the schema, the health check and the enabled tools."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe


@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    """Return the landing page."""
    links = [
        ("Swagger UI", reverse("swagger-ui"), "interactive API documentation"),
        ("Redoc", reverse("redoc"), "reference API documentation"),
        ("OpenAPI schema", reverse("schema"), "the OpenAPI 3 document (YAML; add ?format=json)"),
        ("Health", reverse("health"), "whether the database and the cache answer"),
    ]
    links += [(name, url, description) for name, (url, description) in settings.TOOL_PAGES]
    info = settings.SPECTACULAR_SETTINGS
    return render(
        request, "landing.html", {"title": info["TITLE"], "description": info["DESCRIPTION"], "links": links}
    )
