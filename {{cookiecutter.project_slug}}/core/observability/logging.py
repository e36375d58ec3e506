"""Logging of outages: one line per interval while a dependency keeps failing, not one traceback per call.

With Redis down, django-redis logs every ignored call with its traceback (19.5 MB in 11.5 s under load). The
``OutageFilter`` on its logger lets the first error through with its traceback, then one line per interval with
the number of errors held back, and a last line once errors have stopped.
"""

import logging
import threading
import time
import traceback
from typing import Any

from django.core.signals import request_finished

# Set on the filter's own summary records, so the filter lets them through.
SUMMARY = "outage_summary"


class OutageFilter(logging.Filter):
    """Let through the first error of an outage, then one a ``interval`` with the count of those held back.

    The outage is over once no error has come for ``quiet`` seconds; the first request to finish after that logs a
    line saying so, with the outage's length and number of errors.
    """

    def __init__(self, interval: float = 60.0, quiet: float = 5.0) -> None:
        super().__init__()
        self.interval = interval
        self.quiet = quiet
        self._lock = threading.Lock()
        self._logger_name: str | None = None
        self.reset()
        # No request finishes in a management command: then the next outage's first line follows silently.
        request_finished.connect(self._report_recovery, weak=False, dispatch_uid=f"{__name__}.{id(self)}")

    def reset(self) -> None:
        """Forget the current outage."""
        self._began: float | None = None
        self._last_error = 0.0
        self._last_passed = 0.0
        self._errors = 0
        self._held_back = 0

    def filter(self, record: logging.LogRecord) -> bool:
        """Return whether to log the record: the first error of an outage, or one an interval."""
        if getattr(record, SUMMARY, False):
            return True
        now = time.monotonic()
        with self._lock:
            self._logger_name = record.name
            if self._began is None or now - self._last_error >= self.quiet:
                self.reset()
                self._began = self._last_passed = self._last_error = now
                self._errors = 1
                record.msg = f"{record.msg} (outage began: further errors are logged once every {self.interval:g} s)"
                return True
            self._last_error = now
            self._errors += 1
            if now - self._last_passed < self.interval:
                self._held_back += 1
                return False
            self._summarise(record, now)
            return True

    def _summarise(self, record: logging.LogRecord, now: float) -> None:
        """Turn the record into one line with the count of errors held back since the last one let through."""
        cause = ""
        if record.exc_info and record.exc_info[1] is not None:
            cause = ": " + traceback.format_exception_only(record.exc_info[1])[-1].strip()
        failing_for = now - (self._began or now)
        record.msg = (
            f"{record.getMessage()}{cause} ({self._held_back} more errors in the last {now - self._last_passed:.0f} s;"
            f" failing for {failing_for:.0f} s)"
        )
        record.args = ()
        record.exc_info = None
        record.exc_text = None
        self._last_passed = now
        self._held_back = 0

    def _report_recovery(self, **kwargs: Any) -> None:
        """Log the end of the outage once no error has come for ``quiet`` seconds."""
        if self._began is None or time.monotonic() - self._last_error < self.quiet:
            return
        with self._lock:
            if self._began is None or self._logger_name is None:
                return
            span, errors, name = self._last_error - self._began, self._errors, self._logger_name
            self.reset()
        message = "Outage over: no error for %g s, after %d errors in %.0f s"
        logging.getLogger(name).warning(message, self.quiet, errors, span, extra={SUMMARY: True})
