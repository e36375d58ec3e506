"""The example API's Celery tasks: an export of the published articles written to a file.

``export_articles`` is idempotent: run again for the same job (a redelivery under ``acks_late``), it writes the
same file again, to a temporary name first and renamed over the old one, so a reader never sees half a file.
Each run also deletes the jobs created more than ``API_EXPORT_MAX_AGE`` seconds ago, with their files: by then a
job is finished, or was lost (its task never ran, or its worker died), and no longer counts against its owner.
"""

import logging
import os
import secrets
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from api.export import article_export_rows, export_lines
from api.models import ExportJob
from core.toolkit.rows import RowDict

UNFINISHED = (ExportJob.Status.PENDING, ExportJob.Status.RUNNING)

logger = logging.getLogger(__name__)


def export_path(job: ExportJob) -> Path:
    """Return where the job's file is written."""
    return Path(settings.API_EXPORT_DIR) / f"{job.pk}.{job.format}"


# The project's time limits and retries apply (core/celery.py): past the soft limit (CELERY_TASK_SOFT_TIME_LIMIT,
# 300 s) the job is failed. Celery ships no type information: the task is typed by its function.
@shared_task  # type: ignore[untyped-decorator]
def export_articles(job_id: str) -> None:
    """Write the job's export file and mark the job done, or failed with the error's name (until a retry)."""
    expired_exports_delete()
    job = ExportJob.objects.filter(pk=job_id).first()
    if job is None:
        return  # deleted, with its owner, before it ran
    _mark(job, ExportJob.Status.RUNNING)
    try:
        job.rows = _write_atomically(export_path(job), job.format)
    except Exception as error:
        logger.exception("Export %s failed", job_id)
        job.error = type(error).__name__
        _mark(job, ExportJob.Status.FAILED)
        raise
    _mark(job, ExportJob.Status.DONE)


def unfinished_export_jobs(*, user_id: int) -> QuerySet[ExportJob]:
    """Return the user's jobs that are pending or running and younger than ``API_EXPORT_MAX_AGE``."""
    return ExportJob.objects.filter(owner_id=user_id, status__in=UNFINISHED, created_at__gte=_expiry())


def expired_exports_delete() -> int:
    """Delete the jobs older than ``API_EXPORT_MAX_AGE`` and every file that old; return how many jobs."""
    jobs = list(ExportJob.objects.filter(created_at__lt=_expiry()).only("id", "format"))
    for job in jobs:
        export_path(job).unlink(missing_ok=True)
    ExportJob.objects.filter(pk__in=[job.pk for job in jobs]).delete()
    # Also the files no job names: left by a worker killed while writing, or by jobs deleted with their owner.
    for stray in Path(settings.API_EXPORT_DIR).glob("*"):
        if stray.is_file() and stray.stat().st_mtime < time.time() - settings.API_EXPORT_MAX_AGE:
            stray.unlink(missing_ok=True)
    return len(jobs)


def _expiry() -> datetime:
    """Return the creation time before which a job has expired."""
    return timezone.now() - timedelta(seconds=settings.API_EXPORT_MAX_AGE)


def _write_atomically(path: Path, export_format: str) -> int:
    """Write the export to path through a temporary file renamed over it; return the number of rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    counted = _Counted(article_export_rows())
    try:
        with temporary.open("wb") as out:
            for line in export_lines(counted, export_format):
                out.write(line)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
    return counted.count


def _mark(job: ExportJob, status: str) -> None:
    """Save the job's new status, and its finishing time when it is done or failed."""
    job.status = status
    job.finished_at = None if status == ExportJob.Status.RUNNING else timezone.now()
    job.save(update_fields=["status", "rows", "error", "finished_at"])


class _Counted(Iterable[RowDict]):
    """The rows of an iterator, counted as they are read."""

    def __init__(self, rows: Iterator[RowDict]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[RowDict]:
        for row in self.rows:
            self.count += 1
            yield row
