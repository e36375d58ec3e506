"""Refresh-ahead: after a committed write, the first page of each public list showing its models is rebuilt at once.

These tests commit for real (bumps land in ``transaction.on_commit``) and run the refresh in-process, as the embedded
default and the test settings do; tests/core/test_worker.py sends tasks to a real worker.
"""

import logging
import threading
import time
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from pytest_django import DjangoAssertNumQueries
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from core import tasks
from core.tasks import refresh_lists
from core.toolkit import caching, refresh
from core.toolkit.caching import read_entry, store_entry, version_key
from core.toolkit.http import CACHE_OUTCOME, HIT, MISS
from tests.core.test_caching import group_list_key
from tests.core.urls import GroupListView

pytestmark = [pytest.mark.urls("tests.core.urls"), pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _refresh_ahead_on(settings: Settings) -> None:
    """Turn refresh-ahead on, as it is by default with a worker."""
    settings.API_REFRESH_AHEAD = True


class SentRefreshes:
    """Record the refreshes sent, without running them: as if they waited in a worker's queue."""

    def __init__(self) -> None:
        self.sent: list[list[str]] = []

    def apply_async(self, args: tuple[list[str]], **options: Any) -> None:
        self.sent.append(args[0])


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> SentRefreshes:
    """Return the recorder of the refreshes sent, which stay queued until a test runs them."""
    recorder = SentRefreshes()
    monkeypatch.setattr(tasks, "refresh_lists", recorder)
    return recorder


def names(client: APIClient) -> tuple[list[str], str]:
    """Return the group names of the list's first page and how the cache answered."""
    response = client.get("/groups/")
    return [row["name"] for row in response.json()["results"]], getattr(response, CACHE_OUTCOME)


def test_the_refreshable_lists_are_the_public_lists_without_url_arguments_by_the_models_they_read() -> None:
    lists = refresh.refreshable_lists("tests.core.urls")

    # Not the group's detail nor its permissions (one object each), nor anything not a CachedListView.
    assert lists == {version_key(Group): ("/groups/",), version_key(Permission): ("/groups/",)}


def test_after_a_committed_write_the_next_read_of_the_first_page_is_a_hit_with_the_new_data(
    api_client: APIClient, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    Group.objects.create(name="before")
    assert names(api_client)[0] == ["before"]

    Group.objects.create(name="after")

    with django_assert_num_queries(0):
        assert names(api_client) == (["after", "before"], HIT)


def test_with_refresh_ahead_off_the_next_reader_rebuilds_the_page(
    api_client: APIClient, settings: Settings, queued: SentRefreshes
) -> None:
    settings.API_REFRESH_AHEAD = False
    names(api_client)

    Group.objects.create(name="after")

    assert queued.sent == []
    assert names(api_client) == (["after"], MISS)


def test_a_write_to_a_model_no_public_list_reads_sends_no_refresh(queued: SentRefreshes) -> None:
    User.objects.create(username="someone")

    assert queued.sent == []


def test_a_burst_of_writes_sends_one_refresh_per_list_until_that_refresh_starts(queued: SentRefreshes) -> None:
    for number in range(5):
        Group.objects.create(name=f"group {number}")
    Permission.objects.create(codename="burst", name="Burst", content_type=ContentType.objects.get_for_model(Group))
    assert queued.sent == [["/groups/"]]

    refresh_lists(queued.sent[0])
    Group.objects.create(name="after the refresh started")

    assert queued.sent == [["/groups/"], ["/groups/"]]


def test_a_refresh_of_a_page_a_reader_already_rebuilt_runs_no_query(
    api_client: APIClient, queued: SentRefreshes, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    Group.objects.create(name="new")
    names(api_client)

    with django_assert_num_queries(0):
        outcomes = refresh_lists(["/groups/"])

    assert outcomes == {"/groups/": HIT}


def test_a_failing_refresh_is_logged_and_the_write_still_lands(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(path: str) -> str:
        raise RuntimeError("database gone")

    monkeypatch.setattr(refresh, "refresh", fail)

    with caplog.at_level(logging.ERROR, logger="core.tasks"):
        Group.objects.create(name="written")

    assert Group.objects.filter(name="written").exists()
    assert "Refresh-ahead of /groups/ failed" in caplog.text
    assert names(api_client) == (["written"], MISS)


def test_a_refresh_that_cannot_be_sent_is_logged_and_the_write_still_lands(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError("no broker")

    monkeypatch.setattr(tasks.refresh_lists, "apply_async", broker_down)

    with caplog.at_level(logging.ERROR, logger="core.tasks"):
        Group.objects.create(name="written")

    assert Group.objects.filter(name="written").exists()
    assert "Refresh-ahead not sent" in caplog.text


def test_a_refresh_over_its_miss_budget_is_logged_and_builds_nothing(
    settings: Settings, queued: SentRefreshes, caplog: pytest.LogCaptureFixture
) -> None:
    settings.API_CACHE_MISS_RATE = "1/minute"
    Group.objects.create(name="first")
    first = refresh_lists(["/groups/"])
    Group.objects.create(name="second")

    with caplog.at_level(logging.WARNING, logger="core.tasks"):
        second = refresh_lists(["/groups/"])

    assert (first, second) == ({"/groups/": MISS}, {"/groups/": "429"})
    assert "Refresh-ahead of /groups/ answered 429" in caplog.text


def test_a_refresh_racing_a_reader_s_rebuild_waits_for_it_instead_of_querying(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    key = group_list_key()
    versions = read_entry(key, GroupListView().version_keys({})).versions
    assert cache.add(key + caching.LOCK_SUFFIX, 1, timeout=10)  # a reader's miss is rebuilding the page

    def reader_rebuilds() -> None:
        time.sleep(0.05)
        store_entry(key, versions, 200, b'{"built": "by the reader"}', ttl=60)

    reader = threading.Thread(target=reader_rebuilds)
    reader.start()
    with django_assert_num_queries(0):
        outcomes = refresh_lists(["/groups/"])
    reader.join()

    assert outcomes == {"/groups/": HIT}
