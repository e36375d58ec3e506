"""An expression compiled once and then reused as SQL text: the JSON of a row shape, the same for every request.

Resolving and compiling the JSON of an article row (its nested author, its tag array and its comment count as
correlated subqueries) cost a list miss more CPU than running the query: the tree is copied, every subquery
resolved and written out again, to produce the same text each time. ``Precompiled`` resolves and compiles the
expression fully the first time it meets a query of a given form, keeps the SQL and its parameters (constants of
the expression, never request data), and from then on only repeats the cheap part that changes the query: the
joins its columns read through (``author__name``). The form is the query's model and every alias with the table,
path and join type it stands for, once those joins are made; where resolving the whole expression would have added
or changed any alias beyond them, that form is never reused, and every query of that form resolves the whole
expression, as Django would.
"""

import threading
from collections.abc import Mapping
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Expression, F
from django.db.models.sql.compiler import SQLCompiler
from django.db.models.sql.query import Query

# Forms of query one expression keeps the SQL of; beyond it, a new form resolves the expression in full.
MAX_FORMS = 64
SQL = tuple[str, tuple[Any, ...]]
Form = tuple[Any, ...]


class Precompiled(Expression):
    """An expression resolved and compiled once per form of query, then written out as the SQL it compiled to."""

    contains_aggregate = False
    contains_over_clause = False

    def __init__(self, expression: Expression) -> None:
        """Wrap an unresolved expression; its output field is the expression's."""
        super().__init__(output_field=expression.output_field)
        self.expression = expression
        self.joins = tuple(sorted(_joined_lookups(expression)))
        # form -> (the expression resolved once in that form, or None when it is not reusable; compiled SQL)
        self.forms: dict[Form, tuple[Expression | None, dict[str, SQL]]] = {}
        self.lock = threading.Lock()

    def resolve_expression(
        self,
        query: Any = None,
        allow_joins: bool = True,
        reuse: Any = None,
        summarize: bool = False,
        for_save: bool = False,
    ) -> Any:  # not Self, as Django's stubs say: the resolved expression, of another class
        """Return the expression resolved in this query, from the form's first resolution when it has one."""
        for lookup in self.joins:
            F(lookup).resolve_expression(query, allow_joins, reuse, summarize)
        form = _form(query)
        known = self.forms.get(form) if form is not None else None
        if known is not None and known[0] is not None:
            return _Resolved(known[0], known[1])
        resolved = self.expression.resolve_expression(query, allow_joins, reuse, summarize, for_save)
        if form is not None and known is None and len(self.forms) < MAX_FORMS:
            with self.lock:
                self.forms.setdefault(form, (resolved if _form(query) == form else None, {}))
        return resolved


class _Resolved(Expression):
    """A resolved expression whose SQL, per database vendor, is compiled once and then reused."""

    contains_aggregate = False
    contains_over_clause = False

    def __init__(self, resolved: Expression, compiled: dict[str, SQL]) -> None:
        """Share the form's resolved expression and its compiled SQL by vendor."""
        super().__init__(output_field=resolved.output_field)
        self.resolved = resolved
        self.compiled = compiled

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any) -> SQL:
        """Return the form's SQL, compiled the first time this vendor writes it."""
        sql = self.compiled.get(connection.vendor)
        if sql is None:
            text, params = compiler.compile(self.resolved)
            sql = self.compiled.setdefault(connection.vendor, (text, tuple(params)))
        return sql

    def relabeled_clone(self, change_map: Mapping[str, str]) -> Any:  # not Self: the resolved expression's class
        """Return the resolved expression with its aliases changed, compiled anew (a subquery of another query)."""
        return self.resolved.relabeled_clone(change_map)

    def get_group_by_cols(self) -> list[Any]:
        """Return the resolved expression's grouping columns."""
        cols: list[Any] = self.resolved.get_group_by_cols()
        return cols


def _form(query: Query) -> Form | None:
    """Return what the SQL of an expression resolved in this query depends on: each alias and its join; or None.

    None for a query with a ``FilteredRelation``, whose joins are not compared here: it is resolved in full.
    """
    joins: list[tuple[Any, ...]] = []
    for alias, join in query.alias_map.items():
        if getattr(join, "filtered_relation", None) is not None:
            return None
        # The alias alone would not do: two queries may give one alias to tables reached by different paths.
        path = (getattr(join, "parent_alias", None), getattr(join, "join_field", None))
        joins.append((alias, join.table_name, *path, getattr(join, "join_type", None)))
    return query.model, query.alias_prefix, tuple(joins)


def _joined_lookups(expression: Expression) -> set[str]:
    """Return the lookups of the expression's columns read through a relation (``author__name``)."""
    nodes: list[Any] = list(expression.flatten())
    # type() rather than isinstance(): an OuterRef is an F of a subquery's own query, not of this one.
    names = (getattr(node, "name", "") for node in nodes if type(node) is F)
    return {name for name in names if "__" in name}
