"""Export jobs: POST queues one, its owner polls it and downloads its file; the task writes that file atomically."""

import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from celery import current_app
from django.contrib.auth.models import User
from django.utils import timezone
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from api.factories import ArticleFactory
from api.models import ExportJob
from api.tasks import expired_exports_delete, export_articles, export_path
from tests.api.conftest import token_client
from tests.api.test_export import streamed
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

JOBS = "/api/articles/export/jobs/"


@pytest.fixture(autouse=True)
def export_dir(settings: Settings, tmp_path: Path) -> Path:
    """Return the directory the jobs write to: the test's own."""
    settings.API_EXPORT_DIR = tmp_path
    return tmp_path


@pytest.fixture
def eager() -> Iterator[None]:
    """Run queued tasks at once, in this process, as the embedded default does."""
    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = previous


@pytest.fixture
def post_job(
    writer_client: APIClient, eager: None, django_capture_on_commit_callbacks: Callable[..., Any]
) -> Callable[..., Any]:
    """Return a function that POSTs a job as the writer and runs its task once the request's transaction commits."""

    def post(**query: str) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return writer_client.post(JOBS + (f"?format={query['format']}" if query else ""))

    return post


def test_posting_a_job_answers_202_with_its_url(post_job: Callable[..., Any]) -> None:
    response = post_job()

    assert response.status_code == 202
    job = response.json()
    assert response["Location"] == f"{JOBS}{job['id']}/"
    assert job["format"] == "ndjson"


def test_a_job_writes_the_export_and_its_owner_downloads_it(
    post_job: Callable[..., Any], writer_client: APIClient
) -> None:
    articles = ArticleFactory.create_batch(3)
    location = post_job()["Location"]

    job = writer_client.get(location).json()
    assert (job["state"], job["rows"]) == ("done", 3)
    download = writer_client.get(job["download"])

    assert download.status_code == 200
    assert download["Content-Type"] == "application/x-ndjson"
    assert download["Cache-Control"] in {"private, no-store", "no-store, private"}
    body = streamed(download)
    assert sorted(orjson.loads(line)["id"] for line in body.splitlines()) == sorted(a.pk for a in articles)


def test_a_csv_job_writes_csv(post_job: Callable[..., Any], writer_client: APIClient) -> None:
    ArticleFactory.create(title="=cmd")
    job = writer_client.get(post_job(format="csv")["Location"]).json()

    body = streamed(writer_client.get(job["download"]))

    assert body.startswith(b"id,title,")
    assert b",'=cmd," in body


def test_a_job_is_visible_to_its_owner_only(post_job: Callable[..., Any]) -> None:
    location = post_job()["Location"]
    stranger = token_client(UserFactory.create())

    assert stranger.get(location).status_code == 404
    assert stranger.get(f"{location}download/").status_code == 404


def test_an_unknown_job_is_a_json_404(writer_client: APIClient) -> None:
    response = writer_client.get(f"{JOBS}{uuid.uuid4()}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_pending_jobs_file_is_a_404(writer: User, writer_client: APIClient) -> None:
    job = ExportJob.objects.create(owner=writer)

    assert writer_client.get(f"{JOBS}{job.pk}/").json()["download"] is None
    assert writer_client.get(f"{JOBS}{job.pk}/download/").status_code == 404


def test_jobs_refuse_anonymous_requests(api_client: APIClient) -> None:
    assert api_client.post(JOBS).status_code == 401
    assert api_client.get(f"{JOBS}{uuid.uuid4()}/").status_code == 401


@pytest.mark.parametrize("export_format", ["xlsx", ""])
def test_a_job_with_an_unknown_format_is_a_400_and_not_created(writer_client: APIClient, export_format: str) -> None:
    response = writer_client.post(f"{JOBS}?format={export_format}")

    assert response.status_code == 400
    assert not ExportJob.objects.exists()


def test_a_user_may_have_two_unfinished_jobs_at_once(writer: User, writer_client: APIClient) -> None:
    ExportJob.objects.create(owner=writer)
    ExportJob.objects.create(owner=writer, status=ExportJob.Status.RUNNING)
    ExportJob.objects.create(owner=writer, status=ExportJob.Status.DONE)

    response = writer_client.post(JOBS)

    assert response.status_code == 429
    assert "Retry-After" in response
    assert ExportJob.objects.count() == 3


def test_a_job_older_than_the_max_age_no_longer_counts_against_the_limit(
    writer: User, writer_client: APIClient, settings: Settings
) -> None:
    settings.API_EXPORT_MAX_AGE = 60
    for _ in range(2):
        ExportJob.objects.create(owner=writer)  # queued while the broker was down: its task never runs
    ExportJob.objects.update(created_at=timezone.now() - timedelta(minutes=2))

    assert writer_client.post(JOBS).status_code == 202


def test_running_a_job_again_rewrites_the_same_file(writer: User) -> None:
    job = ExportJob.objects.create(owner=writer)
    ArticleFactory.create()
    export_articles(str(job.pk))
    ArticleFactory.create()

    export_articles(str(job.pk))

    job.refresh_from_db()
    assert job.rows == 2
    assert len(export_path(job).read_bytes().splitlines()) == 2
    assert [path.name for path in export_path(job).parent.iterdir()] == [export_path(job).name]


def test_a_failed_job_keeps_the_previous_file_and_says_why(writer: User, monkeypatch: pytest.MonkeyPatch) -> None:
    job = ExportJob.objects.create(owner=writer)
    ArticleFactory.create()
    export_articles(str(job.pk))
    before = export_path(job).read_bytes()

    def broken(*args: Any, **kwargs: Any) -> Iterator[bytes]:
        yield b"half a line"
        raise OSError("disk full")

    monkeypatch.setattr("api.tasks.export_lines", broken)
    with pytest.raises(OSError, match="disk full"):
        export_articles(str(job.pk))

    job.refresh_from_db()
    assert (job.status, job.error) == ("failed", "OSError")
    assert export_path(job).read_bytes() == before
    assert [path.name for path in export_path(job).parent.iterdir()] == [export_path(job).name]


def test_jobs_older_than_the_max_age_are_deleted_with_their_files(
    writer: User, settings: Settings, export_dir: Path
) -> None:
    settings.API_EXPORT_MAX_AGE = 60
    old, recent, lost = (ExportJob.objects.create(owner=writer) for _ in range(3))
    for job in (old, recent):
        export_articles(str(job.pk))
    ExportJob.objects.filter(pk__in=[old.pk, lost.pk]).update(created_at=timezone.now() - timedelta(minutes=2))
    for stray in (export_dir / "crashed.ndjson.0000.tmp", export_dir / "of-a-deleted-user.csv"):
        stray.write_bytes(b"")
        os.utime(stray, (time.time() - 120, time.time() - 120))

    assert expired_exports_delete() == 2

    assert expired_exports_delete() == 0
    assert list(ExportJob.objects.values_list("pk", flat=True)) == [recent.pk]
    assert [path.name for path in export_dir.iterdir()] == [export_path(recent).name]
