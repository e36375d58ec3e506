"""The root URLconf: the API and its docs, health check, admin, browsable API login (local) and developer tools."""

from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from core.plumbing.favicon import favicon
from core.plumbing.health import health
from core.plumbing.landing import landing

urlpatterns: list[URLPattern | URLResolver] = [
    path("", landing, name="landing"),
    path("favicon.ico", favicon, name="favicon"),
    path("health/", health, name="health"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/", include("api.urls")),
    path("admin/", admin.site.urls),
    # DRF's session login behind the browsable API's "Log in" link: mounted only where that API is on (local).
    *([path("api-auth/", include("rest_framework.urls"))] if settings.API_BROWSABLE else []),
    *(path(prefix, include(urlconf)) for prefix, urlconf in settings.TOOL_URLS),
]

handler400 = "core.plumbing.exceptions.bad_request"
handler403 = "core.plumbing.exceptions.permission_denied"
handler404 = "core.plumbing.exceptions.page_not_found"
handler500 = "core.plumbing.exceptions.server_error"
