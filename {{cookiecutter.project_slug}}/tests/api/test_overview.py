"""``GET /api/overview/``: the stats and the upstream fetched at once, every upstream failure a 200 that says so."""

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client
from pytest_django import DjangoAssertNumQueries
from pytest_django.fixtures import Settings

import api.overview
from api.factories import ArticleFactory, CommentFactory, TagFactory
from api.models import Article
from api.selectors import stats
from api.upstream import (
    BAD_STATUS,
    NOT_CONFIGURED,
    NOT_JSON,
    TIMEOUT,
    TOO_LARGE,
    UNREACHABLE,
    unavailable,
    upstream_status,
    upstream_status_sync,
)
from tests.core.test_settings import manage
from tests.perf.sequential_overview import sequential_overview
from tests.perf.servers import free_port
from tests.perf.slow_upstream import Upstream, slow_upstream

pytestmark = pytest.mark.django_db

URL = "/api/overview/"
OK = {"available": True, "reason": None, "content": {"status": "ok", "region": "local"}}
MAX_BYTES = 1000
# How long the slowed stats wait for the upstream's request; long enough for a loaded machine, never reached when
# the two overlap.
OVERLAP_WAIT = 5.0


@pytest.fixture
def upstream(settings: Settings) -> Iterator[Upstream]:
    """Return a local upstream answering at once, with a small size bound and a short timeout."""
    settings.API_UPSTREAM_MAX_BYTES = MAX_BYTES
    settings.API_UPSTREAM_TIMEOUT = 0.5
    with slow_upstream() as server:
        settings.API_UPSTREAM_URL = server.url()
        yield server


def stats_waiting_for(upstream: Upstream, seen: list[bool], wait: float) -> Callable[[], dict[str, Any]]:
    """Return the stats selector slowed down: it waits for the upstream's request, noting whether it came."""

    def slowed() -> dict[str, Any]:
        seen.append(upstream.received.wait(wait))
        return stats()

    return slowed


def test_overview_answers_the_stats_and_the_upstreams_object(client: Client, upstream: Upstream) -> None:
    TagFactory.create(slug="django")
    CommentFactory.create(article=ArticleFactory.create(status=Article.Status.PUBLISHED))

    response = client.get(URL)

    assert response.status_code == 200
    assert response.json() == {"stats": client.get("/api/stats/").json(), "upstream": OK}
    assert response["Cache-Control"] == "no-store"


def test_overview_costs_the_three_queries_of_the_stats(
    client: Client, upstream: Upstream, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    ArticleFactory.create_batch(3, status=Article.Status.PUBLISHED)

    with django_assert_num_queries(3):
        response = client.get(URL)

    assert response.status_code == 200


def test_overview_asks_the_upstream_while_the_stats_are_being_read(
    client: Client, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(api.overview, "stats", stats_waiting_for(upstream, seen, OVERLAP_WAIT))

    response = client.get(URL)

    assert response.json()["upstream"] == OK
    assert seen == [True]


def test_sequential_twin_asks_the_upstream_only_after_the_stats(
    upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    monkeypatch.setattr("tests.perf.sequential_overview.stats", stats_waiting_for(upstream, seen, 0.5))

    answer = sequential_overview()

    assert answer["upstream"] == OK
    assert seen == [False]


def test_overview_answers_the_same_under_asgi(upstream: Upstream) -> None:
    ArticleFactory.create(status=Article.Status.DRAFT)

    response = async_to_sync(AsyncClient().get)(URL)

    assert response.status_code == 200
    assert response.json() == {"stats": stats(), "upstream": OK}


FAILURES = [
    ("/status", BAD_STATUS),
    ("/not-json", NOT_JSON),
    (f"/large?bytes={MAX_BYTES + 1}", TOO_LARGE),
    ("/ok?delay=3", TIMEOUT),
    # Each byte comes well within httpx's read timeout; only the bound on the whole exchange stops it.
    ("/trickle?bytes=100&delay=0.05", TIMEOUT),
]


@pytest.mark.parametrize(("path", "reason"), FAILURES)
def test_overview_marks_a_failing_upstream_unavailable_and_still_answers_200(
    client: Client, upstream: Upstream, settings: Settings, path: str, reason: str
) -> None:
    settings.API_UPSTREAM_URL = upstream.url(path)

    response = client.get(URL)

    assert response.status_code == 200
    assert response.json() == {"stats": stats(), "upstream": unavailable(reason)}


@pytest.mark.parametrize(("path", "reason"), FAILURES)
def test_sync_fetch_gives_the_same_outcomes(upstream: Upstream, settings: Settings, path: str, reason: str) -> None:
    settings.API_UPSTREAM_URL = upstream.url(path)

    assert upstream_status_sync() == unavailable(reason)


@pytest.mark.parametrize("fetch", [upstream_status_sync, async_to_sync(upstream_status)])
def test_upstream_body_of_exactly_the_bound_is_read(
    upstream: Upstream, settings: Settings, fetch: Callable[[], dict[str, Any]]
) -> None:
    settings.API_UPSTREAM_URL = upstream.url(f"/large?bytes={MAX_BYTES}")

    answer = fetch()

    assert answer["available"] is True
    assert len(answer["content"]["pad"]) == MAX_BYTES - 11


@pytest.mark.parametrize("fetch", [upstream_status_sync, async_to_sync(upstream_status)])
def test_upstream_that_refuses_connections_is_unreachable(
    settings: Settings, fetch: Callable[[], dict[str, Any]]
) -> None:
    settings.API_UPSTREAM_URL = f"http://127.0.0.1:{free_port()}/"

    assert fetch() == unavailable(UNREACHABLE)


def test_overview_without_an_upstream_says_it_is_not_configured_and_calls_nothing(
    client: Client, settings: Settings
) -> None:
    settings.API_UPSTREAM_URL = ""
    with slow_upstream() as server:
        response = client.get(URL)

    assert response.status_code == 200
    assert response.json()["upstream"] == unavailable(NOT_CONFIGURED)
    assert server.requests == 0


def test_overview_refuses_other_methods_with_a_json_405(client: Client) -> None:
    response = client.post(URL)

    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "POST" not allowed.', "code": "method_not_allowed"}


@pytest.mark.parametrize("url", ["ftp://example.com/", "example.com", "http:///path", "http://example.com:port/"])
def test_a_bad_upstream_url_stops_start_up_in_one_line(url: str) -> None:
    result = manage("check", settings="settings.test", DJANGO_API_UPSTREAM_URL=url)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"DJANGO_API_UPSTREAM_URL must be an http:// or https:// URL with a host: {url!r}"
    ]


def test_overview_is_documented_with_its_answer(document: dict[str, Any]) -> None:
    operation = document["paths"][URL]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    upstream_schema = document["components"]["schemas"]["Upstream"]

    assert schema == {"$ref": "#/components/schemas/Overview"}
    assert set(document["components"]["schemas"]["Overview"]["required"]) == {"stats", "upstream"}
    assert upstream_schema["properties"]["content"]["nullable"] is True
    assert list(document["paths"][URL]) == ["get"]


def test_the_upstream_server_stops_its_thread() -> None:
    before = threading.active_count()
    with slow_upstream():
        pass

    assert threading.active_count() == before
