"""Bumps asked for in one transaction go out together at commit; a rolled-back savepoint's keys are left out.

These tests commit for real (``transactional_db``): the bumps run in ``transaction.on_commit``.
"""

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import transaction

from core.plumbing.db.commit_batches import on_commit_merged
from core.toolkit.caching import object_version_key, version_key, versions_bumped
from tests.core import urls  # noqa: F401 - it declares track_models(Group, Permission)

pytestmark = [pytest.mark.urls("tests.core.urls"), pytest.mark.django_db(transaction=True)]


def test_rows_changed_in_one_transaction_are_bumped_together_once_it_commits(bumps: list[frozenset[str]]) -> None:
    with transaction.atomic():
        editors = Group.objects.create(name="editors")
        authors = Group.objects.create(name="authors")
        editors.name = "chief editors"
        editors.save()
        assert bumps == []

    assert len(bumps) == 1
    changed = {object_version_key(Group, editors.pk), object_version_key(Group, authors.pk), version_key(Group)}
    assert changed <= bumps[0]


def test_a_rolled_back_savepoint_leaves_its_keys_out_and_the_rest_still_go_together(
    bumps: list[frozenset[str]],
) -> None:
    first, second, rolled_back = (Group.objects.create(name=name) for name in ("first", "second", "rolled back"))
    bumps.clear()

    with transaction.atomic():
        first.save()
        with transaction.atomic():
            rolled_back.save()
            transaction.set_rollback(True)
        second.save()

    assert len(bumps) == 1
    assert {object_version_key(Group, first.pk), object_version_key(Group, second.pk)} <= bumps[0]
    assert object_version_key(Group, rolled_back.pk) not in bumps[0]


def test_keys_asked_for_in_a_released_savepoint_are_bumped_too(bumps: list[frozenset[str]]) -> None:
    with transaction.atomic():
        outer = Group.objects.create(name="outer")
        with transaction.atomic():
            inner = Group.objects.create(name="inner")

    assert {object_version_key(Group, outer.pk), object_version_key(Group, inner.pk)} <= frozenset().union(*bumps)


def test_a_hook_registered_between_two_asks_runs_between_their_bumps() -> None:
    order: list[str] = []
    versions_bumped.connect(lambda **kwargs: order.append("bump"), weak=False, dispatch_uid="order")
    try:
        with transaction.atomic():
            Group.objects.create(name="first")
            transaction.on_commit(lambda: order.append("other hook"))
            Group.objects.create(name="second")
    finally:
        versions_bumped.disconnect(dispatch_uid="order")

    assert order == ["bump", "other hook", "bump"]


def test_a_rolled_back_transaction_bumps_nothing_and_the_next_one_still_does(bumps: list[frozenset[str]]) -> None:
    with transaction.atomic():
        Group.objects.create(name="rolled back")
        transaction.set_rollback(True)

    with transaction.atomic():
        committed = Group.objects.create(name="committed")

    assert len(bumps) == 1
    assert object_version_key(Group, committed.pk) in bumps[0]


def test_outside_a_transaction_the_keys_are_bumped_at_once(bumps: list[frozenset[str]]) -> None:
    group = Group.objects.create(name="editors")

    assert len(bumps) == 1
    assert object_version_key(Group, group.pk) in bumps[0]


def test_merged_keys_reach_the_callback_in_one_call() -> None:
    calls: list[frozenset[str]] = []

    with transaction.atomic():
        on_commit_merged(calls.append, ["a", "b"])
        on_commit_merged(calls.append, ["b", "c"])
        assert calls == []

    assert calls == [frozenset({"a", "b", "c"})]


@pytest.mark.django_db  # the test's own transaction, as in a TestCase, never commits
def test_an_ask_in_a_block_whose_hooks_a_test_runs_takes_the_earlier_asks_along(
    django_capture_on_commit_callbacks: Any,
) -> None:
    calls: list[frozenset[str]] = []
    on_commit_merged(calls.append, ["before"])

    with django_capture_on_commit_callbacks(execute=True):
        on_commit_merged(calls.append, ["inside"])

    assert calls == [frozenset({"before", "inside"})]
