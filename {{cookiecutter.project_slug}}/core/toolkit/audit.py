"""The check that a cached view names every model it shows, from the tables its queries really read.

In tests (``API_CACHE_AUDIT = "raise"``) a response built from a table whose model the view does not watch fails
the request with the line to add; locally (``"log"``) it logs that error. Production (None) skips the check and
pays nothing for it.
"""

import logging
import re
from collections.abc import Callable, Collection, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models

from core.toolkit.caching import ModelClass, child_models

logger = logging.getLogger(__name__)

# Every table Django's compilers name after FROM or JOIN, quoted alike by PostgreSQL and SQLite.
TABLE_PATTERN = re.compile(r'\b(?:FROM|JOIN)\s+"([^"]+)"', re.IGNORECASE)


@contextmanager
def tables_read() -> Iterator[set[str]]:
    """Yield the set of tables the queries run inside the block read, filled as they run."""
    tables: set[str] = set()

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        tables.update(TABLE_PATTERN.findall(sql))
        return execute(sql, params, many, context)

    with ExitStack() as stack:
        for connection in connections.all():
            stack.enter_context(connection.execute_wrapper(record))
        yield tables


def watched_models(cache_models: Collection[ModelClass], cache_object: ModelClass | None) -> set[ModelClass]:
    """Return the models whose changes rebuild a view's entries: its models, its object's and the object's children.

    A child (``track_models(Comment, parents=("article",))``) bumps its parent's object version, so an object-scoped
    entry watches it; a list does not, as the child's change leaves the parent model's version alone.
    """
    if cache_object is None:
        return set(cache_models)
    return {*cache_models, cache_object, *child_models(cache_object)}


def unwatched_models(tables: Collection[str], covered: Collection[ModelClass]) -> list[ModelClass]:
    """Return the models of these tables whose changes would not rebuild the entry, in table order.

    A many-to-many table is covered when either end is: its changes bump both.
    """
    by_table = {model._meta.db_table: model for model in apps.get_models(include_auto_created=True)}
    missing: list[ModelClass] = []
    for table in sorted(tables):
        model = by_table.get(table)
        if model is None or model in covered or _links_covered(model, covered):
            continue
        missing.append(model)
    return missing


def _links_covered(model: ModelClass, covered: Collection[ModelClass]) -> bool:
    """Return whether the model is a many-to-many table with a covered model at either end."""
    if not model._meta.auto_created:
        return False
    ends = [field.related_model for field in model._meta.fields if isinstance(field, models.ForeignKey)]
    return any(end in covered for end in ends)


def report_unwatched(view_name: str, missing: list[ModelClass], declared: Collection[ModelClass]) -> None:
    """Raise or log, as ``settings.API_CACHE_AUDIT`` says, that the view reads models it does not watch."""
    names = [model.__name__ for model in missing]
    models_line = [*(model.__name__ for model in declared), *names]
    line = f"({models_line[0]},)" if len(models_line) == 1 else f"({', '.join(models_line)})"
    message = (
        f"{view_name} built its response from {', '.join(names)} but does not name "
        f"{'it' if len(names) == 1 else 'them'} in cache_models, so a change there would not rebuild it. "
        f"Add: cache_models = {line}"
    )
    if settings.API_CACHE_AUDIT == "raise":
        raise ImproperlyConfigured(message)
    logger.error(message)
