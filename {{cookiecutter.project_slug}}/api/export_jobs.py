"""Export jobs: their creation under a per-user limit and their lookup by owner."""

from functools import partial
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.exceptions import Throttled

from api.models import ExportJob
from api.tasks import export_articles, unfinished_export_jobs

TOO_MANY_JOBS = "You have {limit} unfinished export jobs: wait until one is done."
# A user with the maximum of unfinished jobs is told to come back after about this long.
RETRY_AFTER_SECONDS = 30


def export_job_create(*, user_id: int, export_format: str) -> ExportJob:
    """Create a pending job for the user and queue its task once committed; raise Throttled past the user's limit."""
    limit = settings.API_EXPORT_JOBS_PER_USER
    with transaction.atomic():
        # The user's row is locked so two simultaneous requests cannot both count one job and each add another.
        get_user_model().objects.select_for_update().filter(pk=user_id).first()
        if unfinished_export_jobs(user_id=user_id).count() >= limit:
            raise Throttled(RETRY_AFTER_SECONDS, detail=TOO_MANY_JOBS.format(limit=limit))
        job = ExportJob.objects.create(owner_id=user_id, format=export_format)
        # Robust: a broker that cannot be reached (or a task run in-process that fails) leaves the job pending or
        # failed, and the request its 202, instead of a 500 after the job was committed.
        transaction.on_commit(partial(export_articles.delay, str(job.pk)), robust=True)
    return job


def export_job_of(*, job_id: UUID, user_id: int | None) -> ExportJob | None:
    """Return the user's job with this id, or None (another user's job is None too)."""
    return ExportJob.objects.filter(pk=job_id, owner_id=user_id).first()
