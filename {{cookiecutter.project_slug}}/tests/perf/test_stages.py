"""The benchmark's stages serve the same items as the real article list, each with its own exact query count."""

import orjson
import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import Resolver404, resolve
from pytest_django import DjangoAssertNumQueries

from api.factories import ArticleFactory, CommentFactory, TagFactory
from tests.core.test_settings import PRODUCTION_SECRETS, manage
from tests.perf.stages import RAW_KEY, page_items

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.perf.urls")]

PAGE = 10
REAL = f"/api/articles/?page_size={PAGE}"


@pytest.fixture
def articles() -> None:
    """Create more published articles than a page, each with tags and comments, and a draft."""
    tags = TagFactory.create_batch(4)
    for number in range(PAGE + 3):
        article = ArticleFactory.create(tags=tags[: number % 4 + 1])
        CommentFactory.create_batch(number % 3, article=article)
    ArticleFactory.create(status="draft", published_at=None)


STAGES = ["naive", "optimized", "values", "cold", "ninja/articles"]


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_serves_the_items_of_the_real_list(client: Client, articles: None, stage: str) -> None:
    real = page_items(client.get(REAL).json())

    served = page_items(client.get(f"/bench/{stage}/?page_size={PAGE}").json())

    assert len(real) == PAGE
    assert served == real


def test_the_plain_view_serves_the_stored_bytes_of_the_real_list(client: Client, articles: None) -> None:
    body = client.get(REAL).content
    cache.set(RAW_KEY, body)

    assert client.get("/bench/raw/").content == body


@pytest.mark.parametrize(
    ("stage", "queries"),
    [
        # The page, then for each article its author, its tags and its comment count.
        ("naive", 1 + 3 * PAGE),
        ("optimized", 2),
        ("values", 2),
        # The rows with their tags and counts as JSON, built by the database in one query.
        ("cold", 1),
        ("ninja/articles", 2),
    ],
)
def test_each_stage_runs_its_own_number_of_queries(
    client: Client, articles: None, django_assert_num_queries: DjangoAssertNumQueries, stage: str, queries: int
) -> None:
    client.get(f"/bench/{stage}/?page_size={PAGE}")  # the cold stage misses anyway; the others have nothing to warm

    with django_assert_num_queries(queries):
        response = client.get(f"/bench/{stage}/?page_size={PAGE}")

    assert len(page_items(orjson.loads(response.content))) == PAGE


def test_the_stages_are_absent_from_the_project_urls() -> None:
    with pytest.raises(Resolver404):
        resolve("/bench/naive/", urlconf="core.plumbing.urls")


def test_the_bench_settings_mount_the_stages_on_production_settings() -> None:
    show = "from django.conf import settings; print(settings.ROOT_URLCONF, settings.DEBUG, settings.API_MAX_PAGE_SIZE)"

    result = manage("shell", "-c", show, settings="settings.bench", **PRODUCTION_SECRETS)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "tests.perf.urls False 1000"
