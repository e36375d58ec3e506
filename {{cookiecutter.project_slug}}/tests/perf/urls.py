"""The project's URLs plus the benchmark's stages under /bench/; only ``settings.bench`` uses this URLconf."""

from django.urls import URLPattern, URLResolver, path

from core.plumbing.urls import urlpatterns as project_urlpatterns
from tests.perf import ninja_stage, stages
from tests.perf.sequential_overview import SequentialOverviewView

# The project's own URLs come first, so the real endpoint resolves exactly as it does in production.
urlpatterns: list[URLPattern | URLResolver] = [
    *project_urlpatterns,
    path("bench/naive/", stages.NaiveListView.as_view()),
    path("bench/optimized/", stages.OptimizedListView.as_view()),
    path("bench/values/", stages.UncachedListView.as_view()),
    path("bench/cold/", stages.ColdListView.as_view()),
    path("bench/ninja/", ninja_stage.api.urls),
    path("bench/raw/", stages.raw_page),
    path("bench/overview-sync/", SequentialOverviewView.as_view()),
]
