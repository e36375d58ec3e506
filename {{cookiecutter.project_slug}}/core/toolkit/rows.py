"""Row shapes: one declaration gives both the ``values()`` query of a list and its documented schema.

A ``Row`` is a ``ModelSerializer`` that is never run per row. Its fields say what each row holds, so
drf-spectacular documents them as it documents any serializer, and ``select()`` turns the same fields into one
``values()`` call: the database returns the rows in their final shape and Python only reshapes dicts::

    class ArticleRow(Row):
        author = AuthorRef()  # a nested Row: its columns are read through the foreign key, in the same query
        tags = serializers.ListField(child=serializers.CharField(), source="tags.name")  # one query per page
        comment_count = serializers.IntegerField()

        class Meta:
            model = Article
            fields = ["id", "title", "author", "tags", "comment_count"]
            annotations = {"comment_count": count_of(Comment.objects.all(), "article")}

A field reads the column its ``source`` names (``"author.name"`` reads ``author__name``); a field named in
``Meta.annotations`` reads that expression; a nested ``Row`` reads its own fields through the relation; a
``ListField`` whose source crosses a relation (``"tags.name"``) is filled by ``complete()`` for a whole page in a
single query, in value order.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from django.db import connections, models
from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce
from rest_framework import serializers

from core.toolkit import dbjson
from core.toolkit.dbjson import orm_lookup

_M = TypeVar("_M", bound=models.Model)
RowDict = dict[str, Any]


def count_of(rows: QuerySet[Any], field: str) -> Coalesce:
    """Return a correlated ``COUNT(*)`` of ``rows`` whose ``field`` is the outer row, 0 when there are none.

    A subquery in the select list is evaluated only for the rows of the page, where a joined ``Count()`` would
    group every matching row before the ``LIMIT``.
    """
    counted = rows.filter(**{field: OuterRef("pk")}).order_by().values(field).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


@dataclass
class _Nested:
    """A nested row: its name, its columns' keys in the flat row, and whether it may be null."""

    name: str
    keys: dict[str, str]
    allow_null: bool


@dataclass
class _RelatedList:
    """A list of values across a relation, filled for a page of rows in one query."""

    name: str
    lookup: str  # tags__name
    tiebreak: str  # tags__pk, so equal values keep one order


@dataclass
class _Plan:
    """What ``select()`` asks the database for and how ``complete()`` reshapes its rows."""

    columns: list[str] = field(default_factory=list)
    expressions: dict[str, Combinable] = field(default_factory=dict)
    nested: list[_Nested] = field(default_factory=list)
    related: list[_RelatedList] = field(default_factory=list)
    pk: str = "pk"  # the column holding each row's primary key, for the list fields' query
    order: list[str] = field(default_factory=list)  # the declared fields, in the documented order


class Row(serializers.ModelSerializer[_M]):
    """The shape of a list's rows, built by the database with ``values()`` and documented from these fields."""

    _plans: ClassVar[dict[type["Row[Any]"], _Plan]] = {}

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        """Return the fields, all read-only: a row is a response shape, every field always there, null or not."""
        fields: dict[str, serializers.Field[Any, Any, Any, Any]] = super().get_fields()
        for declared in fields.values():
            declared.read_only, declared.required = True, False
        return fields

    @classmethod
    def select(cls, queryset: QuerySet[_M]) -> QuerySet[_M, RowDict]:
        """Return the queryset's rows as dicts with this shape's columns (nested and list fields still flat)."""
        plan = cls._plan()
        return queryset.values(*plan.columns, **plan.expressions)

    @classmethod
    def complete(cls, rows: list[RowDict]) -> list[RowDict]:
        """Return the rows in their documented shape: nested fields grouped, list fields filled (one query each)."""
        plan = cls._plan()
        if not (plan.nested or plan.related):
            return rows
        lists = {related.name: cls._related_values(rows, related, plan.pk) for related in plan.related}
        nested = {group.name: group for group in plan.nested}
        shaped = []
        for row in rows:
            out: RowDict = {}
            for name in plan.order:
                if name in nested:
                    group = nested[name]
                    values = {key: row[column] for key, column in group.keys.items()}
                    out[name] = None if group.allow_null and all(v is None for v in values.values()) else values
                elif name in lists:
                    out[name] = lists[name][row[plan.pk]]
                else:
                    out[name] = row[name]
            shaped.append(out)
        return shaped

    @classmethod
    def select_json(cls, queryset: QuerySet[_M], *columns: str) -> QuerySet[_M, RowDict]:
        """Return the queryset's rows as ``columns`` and the whole row as JSON text built by the database.

        Only where ``renders_json()`` is true; ``dbjson.json_items()`` makes the rows items of a page.
        """
        return dbjson.select_json(cls, queryset, *columns)

    @classmethod
    def renders_json(cls, queryset: QuerySet[Any, Any]) -> bool:
        """Return whether the queryset's database builds this shape's JSON as the values() path renders it."""
        return dbjson.renders_json(cls, connections[queryset.db].vendor)

    @classmethod
    def first(cls, queryset: QuerySet[_M]) -> RowDict | None:
        """Return the queryset's first row in this shape, or None."""
        row = cls.select(queryset).first()
        return None if row is None else cls.complete([row])[0]

    @classmethod
    def _related_values(cls, rows: list[RowDict], related: _RelatedList, pk: str) -> defaultdict[Any, list[Any]]:
        """Return each row's values of a list field, by primary key, from one query over the page's rows."""
        values: defaultdict[Any, list[Any]] = defaultdict(list)
        if rows:
            model: type[models.Model] = cls.Meta.model
            linked = {"pk__in": [row[pk] for row in rows], f"{related.lookup}__isnull": False}
            pairs = model._default_manager.filter(**linked).order_by(related.lookup, related.tiebreak)
            for row_pk, value in pairs.values_list("pk", related.lookup):
                values[row_pk].append(value)
        return values

    @classmethod
    def _plan(cls) -> _Plan:
        """Return the class's plan, made from its fields on first use (the models are loaded by then)."""
        plan = cls._plans.get(cls)
        if plan is None:
            plan = cls._plans[cls] = cls._make_plan()
        return plan

    @classmethod
    def _make_plan(cls) -> _Plan:
        """Return the columns, expressions, nested rows and related lists the fields declare."""
        plan = _Plan()
        annotations: Mapping[str, Combinable] = getattr(cls.Meta, "annotations", {})
        fields = cls().fields
        plan.order = list(fields)
        for name, declared in fields.items():
            if name in annotations:
                plan.expressions[name] = annotations[name]
            elif isinstance(declared, Row):
                prefix = orm_lookup(declared.source or name)
                keys = {sub: f"{prefix}__{orm_lookup(field.source or sub)}" for sub, field in declared.fields.items()}
                plan.columns += keys.values()
                plan.nested.append(_Nested(name, keys, declared.allow_null))
            elif isinstance(declared, serializers.ListField) and "." in (declared.source or ""):
                lookup = orm_lookup(declared.source or name)
                plan.related.append(_RelatedList(name, lookup, f"{lookup.rsplit('__', 1)[0]}__pk"))
            elif declared.source == name:
                plan.columns.append(name)
            else:
                plan.expressions[name] = F(orm_lookup(declared.source or name))
        if plan.related:
            model: type[models.Model] = cls.Meta.model
            pk_name = model._meta.pk.name
            plan.pk = pk_name if pk_name in plan.columns else "pk"
            if plan.pk == "pk":
                plan.columns.append("pk")  # read for the list fields' query, then dropped
        return plan
