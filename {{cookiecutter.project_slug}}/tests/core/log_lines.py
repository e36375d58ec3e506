"""The lines the project's log handler writes, read back by the tests of what gets logged."""

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from core.observability.json_log import JsonFormatter


class Lines:
    """What the console handler wrote while capturing."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def text(self) -> str:
        """Return everything written."""
        return self.stream.getvalue()

    def json(self, logger: str | None = None) -> list[dict[str, Any]]:
        """Return each line as the object it holds, only those of ``logger`` when given."""
        found = [json.loads(line) for line in self.text().splitlines()]
        return [line for line in found if logger is None or line["logger"] == logger]


@contextmanager
def console_lines(*, json_format: bool = True) -> Iterator[Lines]:
    """Capture what the console handler of settings.LOGGING writes, with its own filters, as JSON or its format."""
    (handler,) = [found for found in logging.getLogger().handlers if found.name == "console"]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    formatter = handler.formatter
    previous = handler.setStream(stream)
    if json_format:
        handler.setFormatter(JsonFormatter())
    try:
        yield Lines(stream)
    finally:
        handler.setFormatter(formatter)
        if previous is not None:
            handler.setStream(previous)
