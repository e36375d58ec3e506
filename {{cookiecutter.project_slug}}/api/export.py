"""The export of every published article, as NDJSON or CSV, in constant memory.

The rows come from one ``values()`` query read with ``iterator(chunk_size=EXPORT_CHUNK_ROWS)`` (a server-side
cursor on PostgreSQL) and each chunk's tag names from one more query: memory holds one chunk, whatever the number
of articles, and the query count grows with the chunks, not the rows. The encoders turn rows into lines of bytes
that ``StreamingHttpResponse`` sends as they come (``api.export_views``) or a job writes to a file (``api.tasks``).

On PostgreSQL outside a transaction Django declares the cursor ``WITH HOLD``: the database runs the whole query
when the cursor is declared, keeps the result on its side, and the transaction ends at once. So
``DJANGO_DB_STATEMENT_TIMEOUT_MS`` bounds that query's run (not the download), and no transaction stays open while
a slow client reads. Behind pgbouncer in transaction mode (``DJANGO_DB_POOLER=pgbouncer``) the rows are read inside
one transaction instead, which keeps its server connection for the cursor's FETCHes until the export ends
(``core.plumbing.db.cursors``). With ``DISABLE_SERVER_SIDE_CURSORS`` psycopg reads the whole result into the
worker's memory: the stream then still sends rows as it goes, but memory is not constant.
"""

import csv
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, Final

from rest_framework import serializers

from api.models import Article, ExportJob
from api.selectors import published_articles
from core.plumbing.db.cursors import server_cursor_transaction
from core.toolkit.renderers import dumps
from core.toolkit.rows import Row, RowDict

# Rows per FETCH from the server-side cursor and per tag query: about 1 MB of rows in the worker at a time.
EXPORT_CHUNK_ROWS: Final = 2000
# The export's order: the list's, newest first, read along the article_status_published index.
EXPORT_ORDER: Final = ("-published_at", "-id")
# In a CSV cell, the tag names are joined by this; NDJSON keeps them a list (a name may hold the separator).
CSV_TAG_SEPARATOR: Final = "|"
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, "CSV Injection"): such a cell gets a
# leading apostrophe, which spreadsheets show as text and hide.
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPES: Final[dict[str, str]] = {
    ExportJob.Format.NDJSON: "application/x-ndjson",
    ExportJob.Format.CSV: "text/csv; charset=utf-8",
}


class ArticleExportRow(Row[Article]):
    """One exported article: flat, so NDJSON and CSV have the same columns."""

    author_id = serializers.IntegerField()
    author_name = serializers.CharField(source="author.name")
    tags = serializers.ListField(
        child=serializers.CharField(), source="tags.name", help_text="Tag names, in name order."
    )

    class Meta:
        model = Article
        fields = ["id", "title", "slug", "status", "published_at", "author_id", "author_name", "tags"]


COLUMNS: Final = tuple(ArticleExportRow.Meta.fields)


def article_export_rows(*, chunk_size: int = EXPORT_CHUNK_ROWS) -> Iterator[RowDict]:
    """Return the published articles as export rows, reading ``chunk_size`` rows (and their tags) at a time."""
    articles = ArticleExportRow.select(published_articles().order_by(*EXPORT_ORDER))
    with server_cursor_transaction():
        rows = articles.iterator(chunk_size=chunk_size)
        # itertools.batched would do, from Python 3.12 on; the project also runs on 3.11.
        while chunk := list(islice(rows, chunk_size)):
            yield from ArticleExportRow.complete(chunk)


def ndjson_lines(rows: Iterable[RowDict]) -> Iterator[bytes]:
    """Return each row as one line of JSON."""
    for row in rows:
        yield dumps(row) + b"\n"


def csv_lines(rows: Iterable[RowDict]) -> Iterator[bytes]:
    """Return a header line, then each row as a line of CSV (RFC 4180: CRLF, quotes where needed, doubled)."""
    line = _CSVLine()
    yield line.encode(COLUMNS)
    for row in rows:
        yield line.encode([_csv_cell(row[column]) for column in COLUMNS])


def export_lines(rows: Iterable[RowDict], export_format: str) -> Iterator[bytes]:
    """Return the rows encoded in the format, ``ndjson`` or ``csv``."""
    return csv_lines(rows) if export_format == ExportJob.Format.CSV else ndjson_lines(rows)


def neutralise_formula(text: str) -> str:
    """Return the text, behind an apostrophe when a spreadsheet would read it as a formula."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _csv_cell(value: Any) -> str:
    """Return a value as the text of a CSV cell: lists joined, times in ISO 8601, None empty, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = CSV_TAG_SEPARATOR.join(value)
    elif not isinstance(value, str):
        # Numbers and times: dumps() writes datetimes as the JSON (and the rest of the API) does, "...Z".
        return dumps(value).decode().strip('"')
    return neutralise_formula(value)


class _CSVLine:
    """A ``csv.writer`` that returns each line it writes, encoded, instead of keeping it."""

    def __init__(self) -> None:
        self._line = ""
        self._writer = csv.writer(self, lineterminator="\r\n")

    def write(self, text: str) -> None:
        """Keep the text csv.writer wrote: the line being encoded."""
        self._line = text

    def encode(self, cells: Iterable[Any]) -> bytes:
        """Return the cells as one CSV line in UTF-8."""
        self._writer.writerow(cells)
        return self._line.encode()
