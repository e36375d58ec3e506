"""The API's URLs, mounted under /api/ by the root URLconf: add your endpoints here."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
