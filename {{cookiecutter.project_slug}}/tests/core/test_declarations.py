"""A cached view is a declaration the toolkit checks: public methods, the parameters it reads, the models it shows."""

import logging
from collections.abc import Mapping
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from pytest_django.fixtures import Settings
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.test import APIRequestFactory, force_authenticate

from core.toolkit.pagination import keyset
from core.toolkit.rows import Row
from core.toolkit.views import CachedListView, CachedReadView
from tests.core.test_settings import manage
from tests.core.urls import GroupListView, GroupNameRow, GroupRow

pytestmark = pytest.mark.django_db
requests = APIRequestFactory()


class MembersGroupListView(CachedListView):
    """A list for signed-in users only: cached once for all of them, never shown to anyone else."""

    permission_classes = [IsAuthenticated]
    serializer_class = GroupRow
    pagination_class = keyset({"name": ("name", "id")})
    cache_models = (Group, Permission)


class SeenParametersView(GroupListView):
    """A list that reports the query parameters its rows were built from."""

    seen: dict[str, list[str]] = {}

    def get_rows(self, filters: Mapping[str, Any]) -> QuerySet[Group]:
        """Return every group, noting what the request still holds."""
        SeenParametersView.seen = dict(self.request.query_params.lists())
        return super().get_rows(filters)


class GroupsWithoutPermissionsView(CachedListView):
    """A list whose rows show permissions but that watches groups only: the mistake the audit is for."""

    public_methods = ("GET",)
    serializer_class = GroupRow
    pagination_class = keyset({"name": ("name", "id")})
    cache_models = (Group,)


class GroupOwnerRow(Row[Group]):
    """A group with a nested row that may be null."""

    permission = GroupNameRow(source="permissions", allow_null=True)

    class Meta:
        model = Group
        fields = ["name", "permission", "id"]


def test_permission_classes_on_a_view_whose_methods_are_all_public_are_refused_at_import() -> None:
    with pytest.raises(ImproperlyConfigured, match="every method it has is in public_methods"):
        type("Misleading", (GroupListView,), {"permission_classes": [IsAuthenticated]})


def test_a_per_user_cache_on_a_public_read_is_refused_at_import() -> None:
    with pytest.raises(ImproperlyConfigured, match="caches per user: its GET cannot be public"):
        type("PerUserPublic", (GroupListView,), {"cache_per_user": True})


def test_a_read_that_is_not_public_is_checked_before_its_cached_entry_is_served() -> None:
    Group.objects.create(name="editors")
    view = MembersGroupListView.as_view()
    signed_in = requests.get("/groups/")
    force_authenticate(signed_in, user=User.objects.create_user("member"))
    assert view(signed_in).status_code == 200
    assert view(requests.get("/groups/")).status_code in {401, 403}
    assert view(signed_in).status_code == 200


def test_the_view_reads_only_the_query_parameters_in_its_key() -> None:
    response = SeenParametersView.as_view()(requests.get("/groups/?utm=x&page_size=1&ordering=name"))

    assert response.status_code == 200
    assert SeenParametersView.seen == {"page_size": ["1"], "ordering": ["name"]}


def test_a_rebuild_that_reads_an_unwatched_model_fails_naming_the_line_to_add() -> None:
    Group.objects.create(name="editors")

    with pytest.raises(ImproperlyConfigured) as refused:
        GroupsWithoutPermissionsView.as_view()(requests.get("/groups/"))

    message = str(refused.value)
    assert "GroupsWithoutPermissionsView built its response from Permission" in message
    assert "Add: cache_models = (Group, Permission)" in message


def test_locally_an_unwatched_model_is_logged_and_the_read_answers(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.API_CACHE_AUDIT = "log"
    Group.objects.create(name="editors")
    with caplog.at_level(logging.ERROR, logger="core.toolkit.audit"):
        response = GroupsWithoutPermissionsView.as_view()(requests.get("/groups/"))

    assert response.status_code == 200
    assert "Add: cache_models = (Group, Permission)" in caplog.text


def test_in_production_the_audit_does_not_run(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    settings.API_CACHE_AUDIT = None
    Group.objects.create(name="editors")

    assert GroupsWithoutPermissionsView.as_view()(requests.get("/groups/")).status_code == 200
    assert caplog.text == ""


def test_rows_come_in_their_declared_shape_with_list_fields_in_value_order() -> None:
    group = Group.objects.create(name="editors")
    group.permissions.add(*Permission.objects.filter(codename__in=["view_user", "add_user", "change_user"]))
    Group.objects.create(name="empty")

    rows = GroupRow.complete(list(GroupRow.select(Group.objects.order_by("name"))))

    assert rows == [
        {"id": group.pk, "name": "editors", "permissions": ["add_user", "change_user", "view_user"]},
        {"id": rows[1]["id"], "name": "empty", "permissions": []},
    ]
    assert [list(row) for row in rows] == [["id", "name", "permissions"]] * 2


def test_a_nested_row_reads_through_its_relation_and_is_null_when_nothing_is_there() -> None:
    Group.objects.create(name="empty")

    row = GroupOwnerRow.first(Group.objects.all())

    assert row == {"name": "empty", "permission": None, "id": Group.objects.get().pk}


def test_a_list_view_needs_a_row_as_its_shape() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"must be a core\.toolkit\.rows\.Row"):
        type("NotRows", (CachedListView,), {"serializer_class": serializers.Serializer})


def test_a_keyset_needs_an_ordering() -> None:
    with pytest.raises(ImproperlyConfigured, match="at least one ordering"):
        keyset({})


def test_a_cached_read_without_read_says_what_to_implement() -> None:
    view_class: type[CachedReadView] = type("Empty", (CachedReadView,), {"public_methods": ("GET",)})
    view = view_class.as_view()

    with pytest.raises(NotImplementedError, match="must implement read"):
        view(requests.get("/empty/"))


def test_every_process_makes_the_same_key_for_the_same_request() -> None:
    script = (
        "import django; django.setup()\n"
        "from django.test import RequestFactory\n"
        "from tests.core.urls import GroupListView\n"
        "request = RequestFactory().get('/groups/?page_size=5&ordering=name&cursor=abc')\n"
        "print(GroupListView().cache_key(request, {}, 'public'))\n"
    )
    keys = {
        manage("shell", "-c", script, settings="settings.test", PYTHONHASHSEED=seed).stdout.split()[-1]
        for seed in ("1", "2", "3")
    }

    assert len(keys) == 1
    assert next(iter(keys)).startswith("response:")
