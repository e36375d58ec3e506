"""An expression compiled once per form of query: the SQL Django would write, without resolving it again."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.models import (
    Case,
    Expression,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast

from core.toolkit.dbjson import row_object
from core.toolkit.precompiled import Precompiled
from tests.core.test_dbjson import PermissionRow

pytestmark = pytest.mark.django_db


def permission_json() -> Expression:
    """Return a new, unresolved expression of a permission and its content type as JSON text."""
    return Cast(row_object(PermissionRow, connection.vendor), TextField())


def counted(expression: Precompiled) -> list[int]:
    """Count the full resolutions of the wrapped expression: one item per call."""
    calls: list[int] = []
    resolve: Callable[..., Any] = expression.expression.resolve_expression

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return resolve(*args, **kwargs)

    expression.expression.resolve_expression = counting  # type: ignore[method-assign]
    return calls


def sql(queryset: QuerySet[Any, Any]) -> tuple[str, tuple[Any, ...]]:
    """Return the queryset's SQL and parameters."""
    text, params = queryset.query.sql_with_params()
    return text, tuple(params)


def forms(make: Callable[[Expression], QuerySet[Any, Any]]) -> Iterator[tuple[QuerySet[Any, Any], QuerySet[Any, Any]]]:
    """Yield the queryset with the precompiled expression, then with the plain one, three times."""
    precompiled = Precompiled(permission_json())
    for _ in range(3):
        yield make(precompiled), make(permission_json())


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda json: Permission.objects.order_by("id").values("id", j=json), id="plain"),
        pytest.param(
            lambda json: Permission.objects.filter(id__gt=5).order_by("-id").values(j=json)[:10], id="filtered"
        ),
        pytest.param(
            lambda json: Permission.objects.filter(group__name="editors").values(j=json), id="through another join"
        ),
    ],
)
def test_a_precompiled_expression_writes_the_sql_django_writes_in_every_form_of_query(
    make: Callable[[Expression], QuerySet[Any, Any]],
) -> None:
    Group.objects.create(name="editors").permissions.set(Permission.objects.all()[:3])

    for precompiled, plain in forms(make):
        assert sql(precompiled) == sql(plain)
        assert list(precompiled) == list(plain)


def test_a_query_of_a_known_form_reuses_the_sql_without_resolving_the_expression_again() -> None:
    precompiled = Precompiled(permission_json())
    calls = counted(precompiled)

    starts = list(Permission.objects.order_by("id").values_list("id", flat=True))[:20:5]

    def pages(json: Callable[[], Expression]) -> list[list[Any]]:
        return [list(Permission.objects.filter(id__gt=start).order_by("id").values(j=json())[:5]) for start in starts]

    reused = pages(lambda: precompiled)

    assert len(calls) == 1
    assert reused == pages(permission_json)
    assert len({str(page) for page in reused}) == len(starts)


def test_each_new_form_of_query_resolves_the_expression_once() -> None:
    precompiled = Precompiled(permission_json())
    calls = counted(precompiled)

    for _ in range(3):
        sql(Permission.objects.values(j=precompiled))
        sql(Permission.objects.filter(group__name="editors").values(j=precompiled))

    assert len(calls) == 2


def test_a_form_whose_joins_the_columns_alone_do_not_make_is_resolved_in_full_every_time() -> None:
    # The condition reads through the content type's join, which no column of the expression names.
    def labelled() -> Expression:
        return Case(When(Q(content_type__app_label="auth"), then=Value("auth")), default=Value("other"))

    precompiled = Precompiled(labelled())
    calls = counted(precompiled)

    for _ in range(3):
        assert sql(Permission.objects.values(j=precompiled)) == sql(Permission.objects.values(j=labelled()))

    assert len(calls) == 3


def test_a_precompiled_expression_in_a_subquery_is_written_for_the_subquery_s_aliases() -> None:
    precompiled = Precompiled(permission_json())
    list(Permission.objects.values(j=precompiled))  # the form is known, as the subquery's is before relabelling

    def outer(json: Expression) -> QuerySet[Any, Any]:
        inner = Permission.objects.filter(pk=OuterRef("pk")).values(j=json)[:1]
        return Permission.objects.order_by("id").values("id", inner_json=Subquery(inner))

    assert sql(outer(precompiled)) == sql(outer(permission_json()))
    assert list(outer(precompiled)) == list(outer(permission_json()))


def test_a_query_with_a_filtered_relation_is_resolved_in_full_every_time() -> None:
    precompiled = Precompiled(permission_json())
    calls = counted(precompiled)

    def query(json: Expression) -> QuerySet[Any, Any]:
        editors = FilteredRelation("group", condition=Q(group__name="editors"))
        return Permission.objects.annotate(editors=editors).filter(editors__isnull=False).values(j=json)

    for _ in range(3):
        assert sql(query(precompiled)) == sql(query(permission_json()))

    assert len(calls) == 3
