"""The export endpoints: every published article streamed as NDJSON or CSV, or written to a file by a job.

DRF reads a ``format`` query parameter as a choice of renderer and answers 404 when none has that name. These
views negotiate nothing (``JSONOnlyNegotiation``: errors are JSON), so ``?format=`` reaches them as an ordinary
parameter, checked by ``ExportQuery``: an unknown format is a 400.

Django reads a synchronous iterator whole before it sends it under ASGI (and an asynchronous one under WSGI), so the
stream is a generator under WSGI (gunicorn) and an asynchronous one reading a few hundred lines at a time from a
thread under ASGI: either server sends it as it is read.
"""

from collections.abc import AsyncIterator, Iterator, Mapping
from itertools import islice
from typing import Any, Final
from uuid import UUID

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.fields import empty
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.export import MEDIA_TYPES, ArticleExportRow, article_export_rows, export_lines
from api.export_jobs import export_job_create, export_job_of
from api.models import ExportJob
from api.tasks import export_path
from core.plumbing.throttling import ScopedRateThrottle, UserRateThrottle
from core.toolkit.renderers import ORJSONRenderer
from core.toolkit.schema import documented_error
from core.toolkit.views import JSONOnlyNegotiation

# Lines per hop between the event loop and the thread that reads the rows, under ASGI.
ASYNC_BATCH_LINES: Final = 500
NO_JOB = "You have no export job with this id."
NOT_READY = "The export is not done: the job's state says whether it is still running or failed."
FORMAT_PARAMETER = OpenApiParameter(
    "format", OpenApiTypes.STR, enum=list(ExportJob.Format.values), description="ndjson (the default) or csv."
)
STREAMED_DESCRIPTION = (
    "NDJSON (application/x-ndjson): one ArticleExportRow object per line, newest first (documented as an array of "
    "them: the body is lines, not one JSON array). CSV (text/csv): a header row of the same columns, then one row "
    "per article (RFC 4180); tags are joined by |, and a cell starting with = + - @, a tab or a carriage return is "
    "prefixed with ' so that spreadsheets do not run it as a formula."
)
# One description for both media types: OpenAPI gives a status one description, whatever its media types.
STREAMED = {
    (200, "application/x-ndjson"): OpenApiResponse(ArticleExportRow(many=True), description=STREAMED_DESCRIPTION),
    (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=STREAMED_DESCRIPTION),
}


class GivenChoiceField(serializers.ChoiceField):
    """A choice whose default applies only when the parameter is absent: an empty one is refused, not defaulted."""

    def get_value(self, dictionary: Mapping[str, Any]) -> Any:
        """Return the parameter as sent (DRF would turn an empty one into the default), or ``empty`` when absent."""
        return dictionary.get(self.field_name or "", empty)


class ExportQuery(serializers.Serializer[Any]):
    """The export's query parameters."""

    format = GivenChoiceField(choices=ExportJob.Format.values, default=ExportJob.Format.NDJSON)


class ExportJobSerializer(serializers.ModelSerializer[ExportJob]):
    """An export job: its status, and once done the URL of its file."""

    # Not "status": the schema's StatusEnum is the articles' (draft, published).
    state = serializers.ChoiceField(source="status", choices=ExportJob.Status.choices, read_only=True)
    download = serializers.SerializerMethodField(help_text="The file's URL once the job is done, else null.")

    class Meta:
        model = ExportJob
        fields = ["id", "format", "state", "rows", "error", "created_at", "finished_at", "download"]
        read_only_fields = fields

    def get_download(self, job: ExportJob) -> str | None:
        """Return the URL of the job's file, or None until it is done."""
        if job.status != ExportJob.Status.DONE:
            return None
        return reverse("article-export-job-download", kwargs={"pk": job.pk})


class _ExportView(APIView):
    """An authenticated export endpoint: JSON errors, throttled per user in the ``export`` scope as well."""

    renderer_classes = [ORJSONRenderer]
    content_negotiation_class = JSONOnlyNegotiation
    throttle_classes = [UserRateThrottle, ScopedRateThrottle]
    throttle_scope = "export"

    def export_format(self) -> str:
        """Return the validated ``?format=``."""
        query = ExportQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        export_format: str = query.validated_data["format"]
        return export_format


class ArticleExportView(_ExportView):
    """Every published article, newest first, streamed as NDJSON or CSV while it is read."""

    @extend_schema(parameters=[FORMAT_PARAMETER], responses=STREAMED)
    def get(self, request: Request) -> HttpResponseBase:
        """Stream the export."""
        export_format = self.export_format()
        lines = export_lines(article_export_rows(), export_format)
        response = StreamingHttpResponse(_served(request, lines), content_type=MEDIA_TYPES[export_format])
        return _attachment(response, f"articles.{export_format}")


class ExportJobCreateView(_ExportView):
    """Start an export to a file, polled at the job's URL."""

    @extend_schema(
        parameters=[FORMAT_PARAMETER],
        request=None,
        responses={
            202: OpenApiResponse(ExportJobSerializer, description="Queued: poll the job's URL, in Location."),
            429: documented_error("Too many requests, or the user's unfinished jobs are at the limit."),
        },
    )
    def post(self, request: Request) -> Response:
        """Queue an export job."""
        user_id = request.user.pk
        assert user_id is not None  # IsAuthenticated has run
        job = export_job_create(user_id=user_id, export_format=self.export_format())
        url = reverse("article-export-job", kwargs={"pk": job.pk})
        return Response(ExportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED, headers={"Location": url})


class ExportJobDetailView(_ExportView):
    """An export job of the user's: its status."""

    throttle_classes = [UserRateThrottle]  # polling is cheap: only the user's overall rate applies

    @extend_schema(responses={200: ExportJobSerializer, 404: documented_error(NO_JOB)})
    def get(self, request: Request, pk: UUID) -> Response:
        """Return the job."""
        return Response(ExportJobSerializer(_job(request, pk)).data)


class ExportJobDownloadView(_ExportView):
    """The file of a finished export job of the user's."""

    throttle_classes = [UserRateThrottle]

    @extend_schema(responses={**STREAMED, 404: documented_error(f"{NO_JOB} Or: {NOT_READY}")})
    def get(self, request: Request, pk: UUID) -> HttpResponseBase:
        """Send the file."""
        job = _job(request, pk)
        path = export_path(job)
        if job.status != ExportJob.Status.DONE or not path.exists():
            raise NotFound(NOT_READY)
        response = FileResponse(path.open("rb"), content_type=MEDIA_TYPES[job.format])
        return _attachment(response, f"articles-{job.pk}.{job.format}")


def _job(request: Request, pk: UUID) -> ExportJob:
    """Return the user's job with this id, or raise a 404."""
    job = export_job_of(job_id=pk, user_id=request.user.pk)
    if job is None:
        raise NotFound(NO_JOB)
    return job


def _served(request: Request, lines: Iterator[bytes]) -> Iterator[bytes] | AsyncIterator[bytes]:
    """Return the lines as the server runs them without reading them all first: async under ASGI."""
    return _async_lines(lines) if isinstance(request._request, ASGIRequest) else lines


async def _async_lines(lines: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Return the lines in blocks, each read in the thread the request's database connection belongs to."""
    read = sync_to_async(_next_block, thread_sensitive=True)
    while block := await read(lines):
        yield block


def _next_block(lines: Iterator[bytes]) -> bytes:
    """Return the next ASYNC_BATCH_LINES lines joined, or b"" at the end."""
    return b"".join(islice(lines, ASYNC_BATCH_LINES))


def _attachment(response: HttpResponseBase, filename: str) -> HttpResponseBase:
    """Return the response as a download that no cache keeps: the export is the user's, and changes."""
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    patch_cache_control(response, private=True, no_store=True)
    return response
