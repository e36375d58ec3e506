"""One JSON object a line: the log format of production (``DJANGO_LOG_FORMAT=json``), for log collectors to parse.

Every line has ``timestamp`` (UTC, ISO 8601), ``level``, ``logger``, ``message`` and ``request_id``; a record with an
exception adds ``exception``, its traceback as text; the fields a record was given in ``extra`` follow (the request
log's ``method``, ``path``, ``status``...). python-json-logger builds the object, orjson writes it.
"""

import logging
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import OrjsonFormatter

FIELDS = "%(levelname)s %(name)s %(message)s %(request_id)s"
RENAMED = {"levelname": "level", "name": "logger", "exc_info": "exception"}
# What Django passes in ``extra`` for its own handlers: a request's repr holds its query string, tokens and all.
NOT_LOGGED = ("request", "server_time")


class JsonFormatter(OrjsonFormatter):
    """Format a record as one line of JSON, its time first."""

    def __init__(self) -> None:
        super().__init__(FIELDS, rename_fields=RENAMED, reserved_attrs=[*RESERVED_ATTRS, *NOT_LOGGED])

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        """Add the record's time, then its fields."""
        log_data["timestamp"] = datetime.fromtimestamp(record.created, tz=UTC)
        super().add_fields(log_data, record, message_dict)
