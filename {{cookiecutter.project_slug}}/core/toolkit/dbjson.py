"""Rows the database renders as JSON: one text per row in a Row's documented shape, for Python only to frame.

``Row.select_json(queryset, *columns)`` asks the database for each row as one JSON object (``row_to_json`` on
PostgreSQL, ``json_object`` on SQLite): a nested ``Row`` is a nested object read through the join, a list field
an array from a correlated subquery, a timestamp text in the format the values() path renders
(``2026-11-29T21:44:48.120000Z``, the fraction only when there is one). ``json_items()`` turns those texts into
``orjson.Fragment`` items, which ``dumps()`` copies into the page as they are: no dict per row, no serialization
per row in Python. ``columns`` are plain columns read beside the JSON, such as the ordering fields a keyset cursor
is made of.

``renders_json(row, vendor)`` says whether the database can build every field of the row; where it cannot
(another database, a field type whose JSON would differ from orjson's, such as a decimal), the list keeps its
values() path, and the tests check the two return equal bytes.
"""

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import orjson
from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Case, Expression, F, Func, OuterRef, Q, QuerySet, Subquery, TextField, Value, When
from django.db.models.functions import Cast, JSONObject
from django.db.models.sql.compiler import SQLCompiler
from rest_framework import serializers

from core.toolkit.precompiled import Precompiled

JSON_COLUMN = "_json"
VENDORS = frozenset({"postgresql", "sqlite"})
# Model fields whose value the database writes in JSON exactly as orjson writes the values() path's Python value.
SAME_JSON = frozenset({
    "AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField", "SmallIntegerField",
    "PositiveIntegerField", "PositiveBigIntegerField", "PositiveSmallIntegerField",
    "CharField", "TextField", "SlugField", "EmailField", "URLField", "DateField",
})  # fmt: skip
# SQLite stores booleans as 0 and 1, and its JSON says so; PostgreSQL's says true and false.
SAME_JSON_BY_VENDOR = {"postgresql": SAME_JSON | {"BooleanField"}, "sqlite": SAME_JSON}
TIMESTAMP = "DateTimeField"
SQL = tuple[str, tuple[Any, ...]]


class JSONBuild(JSONObject):
    """``JSONObject`` written compactly and with its keys in the order given, as orjson writes a dict."""

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any) -> SQL:
        """Return ``ROW_TO_JSON`` of a one-row subselect naming each value by its key.

        Not ``json_build_object``, which puts spaces around every colon and comma, nor the jsonb one, which sorts
        the keys: ``row_to_json`` writes ``{"id":1,"name":"x"}`` as orjson does.
        """
        expressions = self.get_source_expressions()
        columns: list[str] = []
        params: list[Any] = []
        for key, value in zip(expressions[::2], expressions[1::2], strict=True):
            sql, value_params = compiler.compile(value)
            columns.append(f"{sql} AS {connection.ops.quote_name(key.value)}")
            params.extend(value_params)
        # Compiled expressions and the row's field names, never request data: the values stay parameters.
        sql = f'(SELECT ROW_TO_JSON("row") FROM (SELECT {", ".join(columns)}) "row")'  # noqa: S608
        return sql, tuple(params)


class AsJSON(Func):
    """A JSON value as JSON, not text: SQLite's ``JSON()``, which a ``CASE`` or a subquery otherwise turns to text."""

    function = "JSON"
    output_field = TextField()

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any) -> SQL:
        """Return the value itself: PostgreSQL keeps the type of a json value."""
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return sql, tuple(params)


class JSONTimestamp(Func):
    """A timestamp as the values() path writes it: UTC, ISO 8601, microseconds only when not zero, ``Z``."""

    output_field = TextField()

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any) -> SQL:
        """Return ``TO_CHAR`` of the UTC time, with or without the fraction."""
        sql, params = compiler.compile(self.get_source_expressions()[0])
        utc = f"({sql}) AT TIME ZONE 'UTC'"
        return (
            f"CASE WHEN EXTRACT(MICROSECONDS FROM {sql})::bigint %% 1000000 = 0 "
            f"""THEN TO_CHAR({utc}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') """
            f"""ELSE TO_CHAR({utc}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END""",
            (*params, *params, *params),
        )

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any) -> SQL:
        """Return the stored text (``YYYY-MM-DD HH:MM:SS[.ffffff]``, UTC) with a ``T`` and a ``Z``."""
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"REPLACE({sql}, ' ', 'T') || 'Z'", tuple(params)


class JSONArrayOf(Subquery):
    """The single column ``v`` of a subquery's rows as a JSON array, in the subquery's order; ``[]`` for none."""

    template = "ARRAY(%(subquery)s)"  # json_build_object writes a PostgreSQL array as a JSON array

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any) -> SQL:
        """Return ``JSON_GROUP_ARRAY`` over the ordered subquery."""
        template = 'JSON((SELECT JSON_GROUP_ARRAY("v") FROM (%(subquery)s) "items"))'
        sql, params = super().as_sql(compiler, connection, template=template, **extra_context)
        return sql, tuple(params)


def json_items(rows: Iterable[Mapping[str, Any]]) -> list[orjson.Fragment]:
    """Return the rows' JSON texts as items ``dumps()`` copies into a page unchanged."""
    return [orjson.Fragment(row[JSON_COLUMN]) for row in rows]


def renders_json(row: type[serializers.ModelSerializer[Any]], vendor: str) -> bool:
    """Return whether this database vendor builds every field of the row shape as the values() path renders it."""
    return _row_text(row, vendor) is not None


def row_object(row: type[serializers.ModelSerializer[Any]], vendor: str, prefix: str = "") -> Expression:
    """Return the expression of one row as a JSON object, or raise NotImplementedError for a field it cannot build."""
    model: type[models.Model] = row.Meta.model
    annotations: Mapping[str, Expression] = getattr(row.Meta, "annotations", {})
    pairs: dict[str, Any] = {}
    for name, declared in row().fields.items():
        lookup = orm_lookup(declared.source or name)
        if name in annotations:
            pairs[name] = _annotation(annotations[name], declared, prefix)
        elif isinstance(declared, serializers.ModelSerializer):
            pairs[name] = _nested(declared, vendor, f"{prefix}{lookup}__")
        elif isinstance(declared, serializers.ListField) and "." in (declared.source or ""):
            pairs[name] = _related_list(model, lookup, vendor, prefix)
        else:
            kind = _check_field(model, lookup, vendor)
            pairs[name] = JSONTimestamp(F(prefix + lookup)) if kind == TIMESTAMP else F(prefix + lookup)
    return JSONBuild(**pairs)


def select_json(
    row: type[serializers.ModelSerializer[Any]], queryset: QuerySet[Any], *columns: str
) -> QuerySet[Any, dict[str, Any]]:
    """Return the queryset's rows as dicts of ``columns`` and the row's JSON text under ``JSON_COLUMN``."""
    text = _row_text(row, connections[queryset.db].vendor)
    if text is None:
        raise NotImplementedError(f"{row.__name__}: the database cannot build every field (see renders_json())")
    return queryset.values(*columns, **{JSON_COLUMN: text})


@cache
def _row_text(row: type[serializers.ModelSerializer[Any]], vendor: str) -> Expression | None:
    """Return the row's JSON as text, or None where the vendor cannot build it; made once per row shape and vendor.

    One made here serves every request, resolved and compiled once per form of query (``Precompiled``).
    """
    if vendor not in VENDORS:
        return None
    try:
        return Precompiled(Cast(row_object(row, vendor), TextField()))
    except NotImplementedError:
        return None


def orm_lookup(source: str) -> str:
    """Return the ORM lookup of a DRF source (``"author.name"`` is ``author__name``)."""
    return source.replace(".", "__")


def _annotation(expression: Expression, declared: serializers.Field[Any, Any, Any, Any], prefix: str) -> Expression:
    """Return a computed field's expression; only whole numbers and text are written alike by both paths."""
    if prefix:
        raise NotImplementedError("an annotation of a nested row")  # computed for the outer row, not the nested one
    if not isinstance(declared, serializers.IntegerField | serializers.CharField) or isinstance(
        declared, serializers.ChoiceField
    ):
        raise NotImplementedError(f"an annotation shown as {type(declared).__name__}")
    return expression


def _nested(declared: serializers.ModelSerializer[Any], vendor: str, prefix: str) -> Expression:
    """Return a nested row's object, null when all its columns are (an empty nullable relation)."""
    inner = row_object(type(declared), vendor, prefix)
    if not declared.allow_null:
        return inner
    empty = Q()
    for sub, field in declared.fields.items():
        empty &= Q(**{f"{prefix}{orm_lookup(field.source or sub)}__isnull": True})
    return AsJSON(Case(When(empty, then=Value(None)), default=inner))


def _related_list(model: type[models.Model], lookup: str, vendor: str, prefix: str) -> JSONArrayOf:
    """Return a list field across a relation as a JSON array, in value order (then primary key, as complete())."""
    if prefix:
        raise NotImplementedError("a list field of a nested row")  # its subquery would need the nested row's key
    _check_field(model, lookup, vendor)
    relation, _, column = lookup.partition("__")
    field: Any = model._meta.get_field(relation)
    if "__" not in column and (field.many_to_many or field.one_to_many):
        # One relation away: read from the related table (through the link table of a many-to-many), without
        # joining back to this row's own table.
        back = field.field.name if field.auto_created else field.related_query_name()
        rows = field.related_model._default_manager.filter(**{back: OuterRef("pk"), f"{column}__isnull": False})
        return JSONArrayOf(rows.order_by(column, "pk").values(v=F(column)))
    tiebreak = f"{lookup.rsplit('__', 1)[0]}__pk"
    rows = model._default_manager.filter(pk=OuterRef("pk"), **{f"{lookup}__isnull": False})
    return JSONArrayOf(rows.order_by(lookup, tiebreak).values(v=F(lookup)))


def _check_field(model: type[models.Model], lookup: str, vendor: str) -> str:
    """Return the internal type of the model field a lookup reads, or raise NotImplementedError for a foreign one."""
    field: Any = None
    for part in lookup.split("__"):
        field = model._meta.get_field(part)
        if field.is_relation and field.related_model is not None:
            model = field.related_model
    if field.is_relation:
        field = field.target_field if hasattr(field, "target_field") else model._meta.pk
    kind: str = field.get_internal_type()
    if kind != TIMESTAMP and kind not in SAME_JSON_BY_VENDOR[vendor]:
        raise NotImplementedError(f"a {kind} ({lookup})")
    return kind
