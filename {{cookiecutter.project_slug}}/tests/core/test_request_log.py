"""One log line per request, with its status, duration, queries and cache outcome; JSON in production, switchable."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import URLPattern, path
from pytest_django.fixtures import Settings

from core.observability.request_log import LOGGER, MAX_LOGGED
from core.toolkit import caching
from core.toolkit.caching import CachedResponse
from core.toolkit.http import CACHE_OUTCOME, STALE, stale_entry_response
from tests.core.log_lines import Lines, console_lines
from tests.core.test_settings import PRODUCTION_SECRETS, manage
from tests.core.urls import GroupListView, GroupSerializedListView, crash

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]
FIELDS = {"timestamp", "level", "logger", "message", "request_id"}
REQUEST_FIELDS = {"method", "path", "query", "status", "duration_ms", "queries", "cache"}

urlpatterns: list[URLPattern] = [
    path("groups/", GroupListView.as_view()),
    path("groups/serialized/", GroupSerializedListView.as_view()),
    path("crash/", crash),
]
handler404 = "core.plumbing.exceptions.page_not_found"
handler500 = "core.plumbing.exceptions.server_error"


@pytest.fixture
def request_lines(settings: Settings) -> Iterator[Lines]:
    """Turn the request log on and capture the console's lines as JSON; make the Client afterwards."""
    settings.REQUEST_LOG = True
    with console_lines() as lines:
        yield lines


def test_a_cached_read_is_logged_as_a_miss_with_its_queries_then_as_a_hit_with_none(
    request_lines: Lines, django_assert_num_queries: Callable[..., Any]
) -> None:
    Group.objects.create(name="editors")
    client = Client()
    client.get("/groups/")  # the first read of the process probes the database's JSON support: not the point here
    caching.bump_versions(Group)

    with django_assert_num_queries(1):
        miss = client.get("/groups/", headers={"X-Request-ID": "miss-1"})
    hit = client.get("/groups/", headers={"X-Request-ID": "hit-1"})

    _, first, second = request_lines.json(LOGGER)
    assert set(first) == FIELDS | REQUEST_FIELDS
    assert first["level"] == "INFO"
    assert first["message"].startswith("GET /groups/ 200 ")
    assert {name: first[name] for name in ("method", "path", "query", "status", "queries", "cache")} == {
        "method": "GET",
        "path": "/groups/",
        "query": "",
        "status": 200,
        "queries": 1,
        "cache": "miss",
    }
    assert first["request_id"] == miss["X-Request-ID"] == "miss-1"
    assert (second["status"], second["queries"], second["cache"]) == (200, 0, "hit")
    assert second["request_id"] == hit["X-Request-ID"] == "hit-1"
    assert first["duration_ms"] > 0
    assert second["duration_ms"] > 0


def test_a_revalidated_cached_read_is_logged_as_a_304_hit(request_lines: Lines) -> None:
    client = Client()
    etag = client.get("/groups/")["ETag"]

    client.get("/groups/", headers={"If-None-Match": etag})

    assert [(line["status"], line["cache"]) for line in request_lines.json(LOGGER)] == [(200, "miss"), (304, "hit")]


def test_an_uncached_view_is_logged_with_its_query_count_and_no_cache(
    request_lines: Lines, django_assert_num_queries: Callable[..., Any]
) -> None:
    Group.objects.create(name="editors")

    with django_assert_num_queries(2):
        Client().get("/groups/serialized/")

    (line,) = request_lines.json(LOGGER)
    assert (line["status"], line["queries"], line["cache"]) == (200, 2, "none")


@pytest.mark.parametrize(("url", "status"), [("/no-such-page/", 404), ("/crash/", 500)])
def test_an_error_is_logged_with_its_status(request_lines: Lines, url: str, status: int) -> None:
    Client(raise_request_exception=False).get(url)

    (line,) = request_lines.json(LOGGER)
    assert (line["path"], line["status"], line["cache"]) == (url, status, "none")


def test_a_query_string_is_logged_with_the_values_of_sensitive_names_redacted(request_lines: Lines) -> None:
    query = "ordering=name&token=s3cret-1&api_key=s3cret-2&%74oken=s3cret-3&Password=s3cret-4&author=7"

    Client().get(f"/groups/?{query}")

    (line,) = request_lines.json(LOGGER)
    assert line["path"] == "/groups/"
    assert line["query"] == (
        "ordering=name&token=[Filtered]&api_key=[Filtered]&%74oken=[Filtered]&Password=[Filtered]&author=7"
    )
    assert "s3cret" not in request_lines.text()


def test_django_own_log_line_never_writes_the_request_and_its_query_string(request_lines: Lines) -> None:
    Client().get("/no-such-page/?token=s3cret")

    assert "s3cret" not in request_lines.text()
    assert [line["logger"] for line in request_lines.json()] == [LOGGER, "django.request"]


def test_a_hostile_path_is_logged_on_one_line_and_bounded(request_lines: Lines) -> None:
    Client().get("/x%0A%7B%22level%22:%22ERROR%22%7D" + "a" * 5000, QUERY_STRING="q=" + "b" * 5000)

    (line,) = request_lines.json(LOGGER)
    assert line["path"].startswith('/x\n{"level":"ERROR"}')  # kept as data, inside its JSON string
    assert len(line["path"]) == MAX_LOGGED
    assert len(line["query"]) == MAX_LOGGED
    assert len(request_lines.text().splitlines()) == 2  # the request's line and Django's "Not Found"


def test_the_request_log_is_off_unless_turned_on() -> None:
    with console_lines() as lines:
        Client().get("/groups/")

    assert lines.json(LOGGER) == []


def test_a_stale_answer_is_marked_stale() -> None:
    entry = CachedResponse(versions=(), status=200, etag='"e"', body=b"[]", expires=0.0)

    assert getattr(stale_entry_response(entry), CACHE_OUTCOME) == STALE


@pytest.mark.parametrize(
    ("settings", "variables", "expected"),
    [
        ("settings.production", {}, "json True"),
        ("settings.production", {"DJANGO_LOG_FORMAT": "plain", "DJANGO_REQUEST_LOG": "off"}, "plain False"),
        ("settings.local", {}, "plain False"),
        ("settings.test", {"DJANGO_LOG_FORMAT": "json", "DJANGO_REQUEST_LOG": "on"}, "json False"),
        ("settings.bench", {}, "json False"),
    ],
)
def test_each_environment_has_its_log_format_and_request_log(
    settings: str, variables: dict[str, str], expected: str
) -> None:
    show = "from django.conf import settings as s; print(s.LOGGING['handlers']['console']['formatter'], s.REQUEST_LOG)"

    result = manage("shell", "-c", show, settings=settings, DJANGO_TOOLS="", **PRODUCTION_SECRETS, **variables)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("DJANGO_LOG_FORMAT", "xml", "DJANGO_LOG_FORMAT must be json or plain: 'xml'"),
        ("DJANGO_REQUEST_LOG", "sometimes", "DJANGO_REQUEST_LOG must be on or off: 'sometimes'"),
    ],
)
def test_a_bad_log_setting_stops_start_up_with_one_line(name: str, value: str, reason: str) -> None:
    result = manage("check", settings="settings.production", **PRODUCTION_SECRETS, **{name: value})

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [reason]
