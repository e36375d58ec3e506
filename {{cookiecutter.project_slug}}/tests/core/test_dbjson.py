"""Rows whose JSON the database builds: the same bytes as the values() path, or the values() path itself."""

from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import F, QuerySet
from django.test import RequestFactory
from rest_framework import serializers

from core.toolkit.dbjson import json_items
from core.toolkit.renderers import dumps
from core.toolkit.rows import Row
from tests.core.urls import GroupListView, GroupRow

# What orjson and the databases may write differently: quotes, backslashes, control characters, non-ASCII text.
AWKWARD_TEXT = 'quote " backslash \\ tab \t newline \n bell \x07 del \x7f é 中文 🚀 \u2028'
# Fractions of a second with trailing zeros (written "120000", never "12"), none at all, and a full one.
TIMES = [
    datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC),
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


class ContentTypeRef(Row[ContentType]):
    """A permission's content type, nested."""

    class Meta:
        model = ContentType
        fields = ["id", "app_label", "model"]


class PermissionRow(Row[Permission]):
    """A permission with its content type."""

    content_type = ContentTypeRef()

    class Meta:
        model = Permission
        fields = ["id", "codename", "name", "content_type"]


class UserRow(Row[User]):
    """A user: text, timestamps (one nullable) and a list across a many-to-many relation."""

    groups = serializers.ListField(child=serializers.CharField(), source="groups.name")

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "date_joined", "last_login", "groups"]


class ScoredUserRow(Row[User]):
    """A user with a computed float, which PostgreSQL and orjson may write with different digits."""

    score = serializers.FloatField()

    class Meta:
        model = User
        fields = ["id", "score"]
        annotations = {"score": F("id") * 1.1}


class StaffRow(Row[User]):
    """A user's staff flag: SQLite stores it as 0 or 1, and its JSON says so."""

    class Meta:
        model = User
        fields = ["id", "is_staff"]


def both_paths(row: type[Row[Any]], queryset: QuerySet[Any]) -> tuple[bytes, bytes]:
    """Return the rows rendered through values() and as the database builds them."""
    assert row.renders_json(queryset)
    return dumps(row.complete(list(row.select(queryset)))), dumps(json_items(row.select_json(queryset)))


@pytest.mark.django_db
def test_the_database_writes_text_timestamps_and_lists_as_the_values_path_renders_them() -> None:
    editors = Group.objects.create(name=AWKWARD_TEXT)
    readers = Group.objects.create(name="a readers")
    for number, joined in enumerate(TIMES):
        user = User.objects.create(username=f"user{number}", first_name=AWKWARD_TEXT, date_joined=joined)
        user.groups.set([editors, readers][:number])
    User.objects.filter(username="user1").update(last_login=TIMES[0])

    through_values, built = both_paths(UserRow, User.objects.order_by("id"))

    assert built == through_values
    assert b'"2026-01-02T03:04:05.120000Z"' in built
    assert b'"groups":[]' in built


@pytest.mark.django_db
def test_a_nested_row_is_an_object_built_through_the_join() -> None:
    through_values, built = both_paths(PermissionRow, Permission.objects.order_by("id")[:20])

    assert built == through_values
    assert b'"content_type":{"id":' in built


@pytest.mark.django_db
def test_a_keyset_page_of_database_built_rows_is_the_same_page_with_the_same_links() -> None:
    for number in range(7):
        Group.objects.create(name=f"group {number} {AWKWARD_TEXT}").permissions.set(Permission.objects.all()[:number])

    class ThroughValues(GroupListView):
        json_in_database = False

    request = RequestFactory().get("/groups/", {"page_size": "3", "ordering": "name"})
    pages = [view.as_view()(request).content for view in (GroupListView, ThroughValues)]

    assert pages[0] == pages[1]
    assert b'"next":"/groups/?' in pages[0]


def test_a_float_keeps_the_values_path() -> None:
    assert not ScoredUserRow.renders_json(User.objects.all())


def test_a_boolean_is_built_by_postgresql_but_not_by_sqlite() -> None:
    assert StaffRow.renders_json(User.objects.all()) is (connection.vendor == "postgresql")


def test_every_example_shape_here_is_built_by_the_database() -> None:
    for row, model in ((GroupRow, Group), (PermissionRow, Permission), (UserRow, User)):
        assert row.renders_json(model.objects.all())
