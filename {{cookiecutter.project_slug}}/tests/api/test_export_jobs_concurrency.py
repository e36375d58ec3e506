"""Simultaneous export job requests of one user: the per-user limit holds, each request in its own thread."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings
from rest_framework.throttling import ScopedRateThrottle

from api.models import ExportJob
from tests.api import test_concurrency
from tests.api.test_concurrency import at_once

# A real database connection per thread, on PostgreSQL or a SQLite file, as for the other concurrent writes.
pytestmark = test_concurrency.pytestmark

ROUNDS = 5
REQUESTS = 6


def test_simultaneous_requests_create_no_more_jobs_than_the_limit(
    writer: User, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.API_EXPORT_JOBS_PER_USER = 2
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"export": "1000/hour"})
    # The jobs stay pending, as when every worker is busy.
    monkeypatch.setattr("api.export_jobs.export_articles", SimpleNamespace(delay=lambda job_id: None))

    for round_ in range(ROUNDS):
        ExportJob.objects.all().delete()

        statuses = at_once(writer, REQUESTS, lambda client, _: client.post("/api/articles/export/jobs/").status_code)

        assert sorted(statuses) == [202, 202, 429, 429, 429, 429], f"round {round_}"
        assert ExportJob.objects.filter(owner=writer).count() == 2
