"""The cached-read toolkit: one round trip per hit, versions bumped on commit only, stampede, TTL and growth care."""

import threading
import time
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.test import RequestFactory
from pytest_django import DjangoAssertNumQueries
from pytest_django.fixtures import Settings
from rest_framework import serializers
from rest_framework.test import APIClient

from core.toolkit import caching
from core.toolkit.caching import read_entry, store_entry, track_models, version_key
from core.toolkit.views import CachedDetailView, CachedListView
from tests.core.conftest import CacheSpy
from tests.core.urls import GroupDetailView, GroupListView

pytestmark = pytest.mark.urls("tests.core.urls")


def group_list_key(query: str = "") -> str:
    """Return the entry key of /groups/ with a query string."""
    request = RequestFactory().get(f"/groups/{query}")
    return GroupListView().cache_key(request, {}, scope="public")


@pytest.mark.django_db
def test_a_hit_is_a_single_cache_round_trip_and_no_query(
    api_client: APIClient, spy: CacheSpy, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    Group.objects.create(name="editors")
    api_client.get("/groups/")
    spy.calls.clear()

    with django_assert_num_queries(0):
        response = api_client.get("/groups/")

    assert response.status_code == 200
    assert spy.calls == ["get_many"]


@pytest.mark.django_db
def test_a_miss_locks_builds_stores_and_unlocks(api_client: APIClient, spy: CacheSpy) -> None:
    Group.objects.create(name="editors")

    api_client.get("/groups/")

    # The versions first (the cache holds none yet, so each is added, then read back), then the lock and the entry.
    assert spy.calls == ["get_many", "add", "add", "get_many", "add", "set", "delete"]


@pytest.mark.django_db(transaction=True)
def test_a_committed_save_bumps_the_version_once_committed() -> None:
    group = Group.objects.create(name="editors")
    before = cache.get(version_key(Group))

    with transaction.atomic():
        group.name = "writers"
        group.save()
        assert cache.get(version_key(Group)) == before

    assert cache.get(version_key(Group)) != before


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_save_bumps_nothing() -> None:
    Group.objects.create(name="editors")
    before = cache.get(version_key(Group))

    def create_then_fail() -> None:
        with transaction.atomic():
            Group.objects.create(name="never")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        create_then_fail()

    assert cache.get(version_key(Group)) == before


@pytest.mark.django_db(transaction=True)
def test_a_many_to_many_change_bumps_both_models_and_shows_on_the_next_read(api_client: APIClient) -> None:
    group = Group.objects.create(name="editors")
    assert api_client.get("/groups/").json()["results"][0]["permissions"] == []
    permission_version = cache.get(version_key(Permission))

    group.permissions.add(Permission.objects.get(codename="add_user"))

    assert cache.get(version_key(Permission)) != permission_version
    assert api_client.get("/groups/").json()["results"][0]["permissions"] == ["add_user"]


@pytest.mark.django_db(transaction=True)
def test_a_cached_404_ends_as_soon_as_the_row_is_created(api_client: APIClient) -> None:
    assert api_client.get("/groups/1/").status_code == 404

    Group.objects.create(id=1, name="editors")

    assert api_client.get("/groups/1/").json() == {"id": 1, "name": "editors"}


@pytest.mark.django_db
def test_a_404_is_cached_for_the_short_not_found_ttl(
    api_client: APIClient, spy: CacheSpy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("random.uniform", lambda low, high: 1.0)

    assert api_client.get("/groups/999/").status_code == 404

    assert spy.set_timeouts == [30]


def test_entry_lifetimes_are_jittered_within_ten_percent(spy: CacheSpy) -> None:
    for _ in range(200):
        store_entry("key", (1,), 200, b"{}", ttl=300)

    assert min(spy.set_timeouts) >= 270
    assert max(spy.set_timeouts) <= 330
    assert len(set(spy.set_timeouts)) > 10


@pytest.mark.django_db
def test_while_another_process_rebuilds_an_entry_a_reader_waits_for_it_instead_of_querying(
    api_client: APIClient, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    key = group_list_key()
    versions = read_entry(key, GroupListView().version_keys({})).versions
    assert cache.add(key + caching.LOCK_SUFFIX, 1, timeout=10)

    def rebuild_elsewhere() -> None:
        time.sleep(0.05)
        store_entry(key, versions, 200, b'{"built": "elsewhere"}', ttl=60)

    other = threading.Thread(target=rebuild_elsewhere)
    other.start()
    with django_assert_num_queries(0):
        response = api_client.get("/groups/")
    other.join()

    assert response.content == b'{"built": "elsewhere"}'


@pytest.mark.django_db
def test_a_reader_builds_the_entry_itself_when_the_rebuild_elsewhere_never_lands(
    api_client: APIClient, settings: Settings
) -> None:
    settings.API_CACHE_LOCK_WAIT = 0.05
    Group.objects.create(name="editors")
    key = group_list_key()
    cache.add(key + caching.LOCK_SUFFIX, 1, timeout=10)

    started = time.monotonic()
    response = api_client.get("/groups/")

    assert response.json()["results"][0]["name"] == "editors"
    assert time.monotonic() - started >= 0.05


@pytest.mark.django_db(transaction=True)
def test_a_lost_invalidation_serves_stale_data_no_longer_than_the_ttl(
    api_client: APIClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.API_CACHE_TTL = 1
    group = Group.objects.create(name="editors")
    api_client.get("/groups/")
    monkeypatch.setattr(caching, "bump_keys", lambda keys: None)  # lost to the cache and the database alike

    group.name = "writers"
    group.save()

    assert api_client.get("/groups/").json()["results"][0]["name"] == "editors"
    time.sleep(1.6)
    assert api_client.get("/groups/").json()["results"][0]["name"] == "writers"


def test_the_key_ignores_unknown_parameters_and_their_order_but_not_known_values() -> None:
    assert group_list_key("?ordering=name&page_size=5") == group_list_key("?page_size=5&utm=x&ordering=name")
    assert group_list_key("?page_size=5") != group_list_key("?page_size=6")
    assert group_list_key("?cursor=a&cursor=b") != group_list_key("?cursor=b")


def test_a_cached_view_of_an_untracked_model_is_refused_at_import() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"track_models\(User\)"):
        type("UserListView", (CachedListView,), {"cache_models": (User,)})


def test_a_cached_view_of_an_untracked_object_is_refused_at_import() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"track_models\(User\)"):
        type("UserDetailView", (CachedDetailView,), {"cache_object": User})


def test_a_parent_that_is_not_a_foreign_key_is_refused_at_import() -> None:
    with pytest.raises(ImproperlyConfigured, match="'name' is not a foreign key"):
        track_models(Permission, parents=("name",))


def test_an_object_scoped_entry_reads_its_object_and_its_models_generation_in_the_same_round_trip(
    api_client: APIClient, spy: CacheSpy, db: None
) -> None:
    Group.objects.create(id=1, name="editors")
    api_client.get("/groups/1/")
    spy.calls.clear()

    assert api_client.get("/groups/1/").status_code == 200
    assert spy.calls == ["get_many"]
    assert GroupDetailView().version_keys({"pk": 1}) == ["version:auth.group:1", "version:auth.group#objects"]


@pytest.mark.django_db(transaction=True)
def test_a_change_to_one_object_leaves_the_cached_detail_of_another_a_hit(
    api_client: APIClient, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    editors, writers = Group.objects.create(name="editors"), Group.objects.create(name="writers")
    api_client.get(f"/groups/{editors.pk}/")
    api_client.get(f"/groups/{writers.pk}/")

    writers.name = "authors"
    writers.save()

    with django_assert_num_queries(0):
        assert api_client.get(f"/groups/{editors.pk}/").json()["name"] == "editors"
    assert api_client.get(f"/groups/{writers.pk}/").json()["name"] == "authors"


M2M_CHANGES_FROM_THE_OTHER_SIDE = {
    "add": lambda group, permission: permission.group_set.add(group),
    "remove": lambda group, permission: permission.group_set.remove(group),
    "clear": lambda group, permission: permission.group_set.clear(),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", M2M_CHANGES_FROM_THE_OTHER_SIDE)
def test_a_many_to_many_change_from_the_other_side_rebuilds_the_objects_it_links_or_unlinks(
    api_client: APIClient, change: str
) -> None:
    group = Group.objects.create(name="editors")
    permission = Permission.objects.get(codename="add_user")
    if change != "add":
        group.permissions.add(permission)
    before = api_client.get(f"/groups/{group.pk}/permissions/").json()

    M2M_CHANGES_FROM_THE_OTHER_SIDE[change](group, permission)

    after = api_client.get(f"/groups/{group.pk}/permissions/").json()
    assert after == (["add_user"] if change == "add" else [])
    assert after != before


@pytest.mark.django_db(transaction=True)
def test_a_model_wide_bump_rebuilds_every_object_scoped_entry(api_client: APIClient) -> None:
    group = Group.objects.create(name="editors")
    api_client.get(f"/groups/{group.pk}/")

    Group.objects.filter(pk=group.pk).update(name="writers")
    caching.bump_versions(Group)

    assert api_client.get(f"/groups/{group.pk}/").json()["name"] == "writers"


@pytest.mark.django_db
def test_a_repeated_parameter_is_a_400_naming_it_before_any_cache_work(api_client: APIClient, spy: CacheSpy) -> None:
    response = api_client.get("/groups/?page_size=5&page_size=5")

    assert response.status_code == 400
    assert response.json() == {"page_size": ["Give this query parameter once."]}
    assert spy.calls == []


@pytest.mark.django_db
def test_a_repeated_parameter_the_view_does_not_read_is_ignored(api_client: APIClient) -> None:
    assert api_client.get("/groups/?utm=a&utm=b").status_code == 200


class TagFilters(serializers.Serializer[Any]):
    """A filter read as a list: ?tag=a&tag=b."""

    tag = serializers.ListField(child=serializers.CharField(), required=False)


@pytest.mark.django_db
def test_a_list_parameter_may_be_repeated_and_each_list_is_an_entry_of_its_own() -> None:
    view_class: type[GroupListView] = type("TaggedGroupListView", (GroupListView,), {"filter_class": TagFilters})
    view = view_class.as_view()

    response = view(RequestFactory().get("/groups/?tag=a&tag=b"))

    assert response.status_code == 200
    key = view_class().cache_key
    assert key(RequestFactory().get("/groups/?tag=a&tag=b"), {}, "public") != key(
        RequestFactory().get("/groups/?tag=b"), {}, "public"
    )


@pytest.mark.django_db
def test_misses_beyond_the_clients_budget_get_a_429_and_hits_are_never_counted(
    api_client: APIClient, settings: Settings
) -> None:
    settings.API_CACHE_MISS_RATE = "2/minute"
    Group.objects.create(name="editors")
    assert api_client.get("/groups/?page_size=1").status_code == 200
    assert api_client.get("/groups/?page_size=2").status_code == 200

    refused = api_client.get("/groups/?page_size=3")

    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    for _ in range(5):
        assert api_client.get("/groups/?page_size=1").status_code == 200
    assert APIClient(REMOTE_ADDR="203.0.113.9").get("/groups/?page_size=3").status_code == 200


@pytest.mark.django_db
def test_a_200_stays_in_the_cache_past_its_lifetime_for_the_stale_window(
    api_client: APIClient, spy: CacheSpy, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.API_CACHE_STALE_IF_ERROR = 1000
    monkeypatch.setattr("random.uniform", lambda low, high: 1.0)
    Group.objects.create(name="editors")

    api_client.get("/groups/")

    assert spy.set_timeouts == [300 + 1000]
    entry = cache.get(group_list_key())
    assert 299 < entry.expires - time.time() <= 300
