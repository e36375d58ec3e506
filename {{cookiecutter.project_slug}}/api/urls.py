"""The API's URLs, mounted under /api/ by the root URLconf."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
