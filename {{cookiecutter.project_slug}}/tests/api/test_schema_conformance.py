"""Real responses of every operation conform to the OpenAPI document: successes, errors, cached copies and 304s.

Each case below is one request to one operation of ``/api/schema/``; a new operation fails the coverage test until
it has a success case and, if it documents errors, an error case here.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.test import Client
from openapi_core import Config, OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIResponse
from openapi_core.testing import MockRequest
from pytest_django import DjangoAssertNumQueries
from pytest_django.fixtures import Settings
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle

from api.factories import ArticleFactory, CommentFactory, TagFactory
from api.models import Article, Author, ExportJob
from api.tasks import export_articles
from core.toolkit.schema import SERVER_REFUSALS
from tests.conftest import served_document

pytestmark = pytest.mark.django_db

HOST = "http://testserver"
METHODS = ("get", "put", "post", "delete", "patch")
ARTICLE = {"title": "Fast APIs", "body": "Cache the bytes.", "status": "published", "tags": ["django"]}
COMMENT = {"author_name": "Ann", "body": "Nice."}
STALE = {"If-Match": '"stale"'}
ANY_ETAG = {"If-Match": "*"}
TOO_LARGE = b" " * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)


@dataclass(frozen=True)
class Case:
    """One request to an operation and the status it gets; ``{id}`` is the seeded object named by ``target``."""

    operation: str
    status: int
    why: str
    target: str = "mine"
    signed_in: bool = False
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    raw: bytes | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    #: Send the request twice and check the second answer: a cache hit for a read, a throttled one for a write.
    twice: bool = False
    #: Send the request, then again with the ETag it got in If-None-Match.
    revalidate: bool = False

    def __str__(self) -> str:
        return f"{self.operation} {self.status} {self.why}"

    @property
    def method(self) -> str:
        """Return the HTTP method."""
        return self.operation.split()[0]

    @property
    def data(self) -> bytes:
        """Return the request body."""
        if self.raw is not None:
            return self.raw
        return b"" if self.body is None else orjson.dumps(self.body)


CASES = [
    Case("GET /api/articles/", 200, "first page"),
    Case("GET /api/articles/", 200, "from the cache", twice=True),
    Case("GET /api/articles/", 304, "revalidated", revalidate=True),
    Case("GET /api/articles/", 400, "bad cursor", query={"cursor": "bad"}),
    Case("GET /api/articles/", 400, "bad filter", query={"author": "abc"}),
    Case("POST /api/articles/", 201, "created", signed_in=True, body=ARTICLE),
    Case("POST /api/articles/", 400, "missing fields", signed_in=True, body={}),
    Case("POST /api/articles/", 400, "malformed JSON", signed_in=True, raw=b"{bad"),
    Case("POST /api/articles/", 401, "anonymous", body=ARTICLE),
    Case("POST /api/articles/", 413, "body too large", signed_in=True, raw=TOO_LARGE),
    Case("POST /api/articles/", 415, "not JSON", signed_in=True, raw=b"x", content_type="text/plain"),
    Case("GET /api/articles/{id}/", 200, "published"),
    Case("GET /api/articles/{id}/", 200, "from the cache", twice=True),
    Case("GET /api/articles/{id}/", 304, "revalidated", revalidate=True),
    Case("GET /api/articles/{id}/", 404, "unknown id", target="missing"),
    Case("GET /api/articles/{id}/", 404, "unknown id from the cache", target="missing", twice=True),
    Case("PUT /api/articles/{id}/", 200, "replaced", signed_in=True, body=ARTICLE),
    Case("PUT /api/articles/{id}/", 400, "missing fields", signed_in=True, body={"title": "Only"}),
    Case("PUT /api/articles/{id}/", 403, "someone else's", target="theirs", signed_in=True, body=ARTICLE),
    Case("PUT /api/articles/{id}/", 404, "unknown id", target="missing", signed_in=True, body=ARTICLE),
    Case("PUT /api/articles/{id}/", 412, "stale ETag", signed_in=True, body=ARTICLE, headers=STALE),
    Case("PATCH /api/articles/{id}/", 200, "changed", signed_in=True, body={"title": "Faster APIs"}),
    Case("PATCH /api/articles/{id}/", 401, "anonymous", body={"title": "Faster APIs"}),
    Case("PATCH /api/articles/{id}/", 403, "someone else's", target="theirs", signed_in=True, body={"title": "x"}),
    Case("PATCH /api/articles/{id}/", 200, "If-Match: *", signed_in=True, body={"title": "x"}, headers=ANY_ETAG),
    Case("PATCH /api/articles/{id}/", 404, "their draft", target="their_draft", signed_in=True, body={"title": "x"}),
    Case("PATCH /api/articles/{id}/", 412, "stale ETag", signed_in=True, body={"title": "x"}, headers=STALE),
    Case("PATCH /api/articles/{id}/", 415, "not JSON", signed_in=True, raw=b"x", content_type="text/plain"),
    Case("DELETE /api/articles/{id}/", 204, "deleted", signed_in=True),
    Case("DELETE /api/articles/{id}/", 401, "anonymous"),
    Case("DELETE /api/articles/{id}/", 403, "someone else's", target="theirs", signed_in=True),
    Case("DELETE /api/articles/{id}/", 404, "unknown id", target="missing", signed_in=True),
    Case("DELETE /api/articles/{id}/", 412, "stale ETag", signed_in=True, headers=STALE),
    Case("GET /api/articles/{id}/comments/", 200, "first page"),
    Case("GET /api/articles/{id}/comments/", 200, "from the cache", twice=True),
    Case("GET /api/articles/{id}/comments/", 304, "revalidated", revalidate=True),
    Case("GET /api/articles/{id}/comments/", 400, "bad page size", query={"page_size": "0"}),
    Case("GET /api/articles/{id}/comments/", 404, "unknown article", target="missing"),
    Case("POST /api/articles/{id}/comments/", 201, "posted", body=COMMENT),
    Case("POST /api/articles/{id}/comments/", 400, "missing fields", body={}),
    Case("POST /api/articles/{id}/comments/", 404, "unknown article", target="missing", body=COMMENT),
    Case("POST /api/articles/{id}/comments/", 429, "over the rate", body=COMMENT, twice=True),
    Case("GET /api/authors/", 200, "first page"),
    Case("GET /api/authors/", 304, "revalidated", revalidate=True),
    Case("GET /api/authors/", 400, "bad cursor", query={"cursor": "bad"}),
    Case("GET /api/authors/{id}/", 200, "an author", target="author"),
    Case("GET /api/authors/{id}/", 304, "revalidated", target="author", revalidate=True),
    Case("GET /api/authors/{id}/", 404, "unknown id", target="missing"),
    Case("GET /api/tags/", 200, "first page"),
    Case("GET /api/tags/", 304, "revalidated", revalidate=True),
    Case("GET /api/tags/", 400, "bad ordering", query={"ordering": "nope"}),
    Case("GET /api/stats/", 200, "counts"),
    Case("GET /api/stats/", 200, "from the cache", twice=True),
    Case("GET /api/stats/", 304, "revalidated", revalidate=True),
    Case("GET /api/overview/", 200, "stats, upstream not configured"),
    Case("GET /api/overview/", 429, "over the rate", twice=True),
    Case("GET /api/me/articles/", 200, "drafts included", signed_in=True),
    Case("GET /api/me/articles/", 304, "revalidated", signed_in=True, revalidate=True),
    Case("GET /api/me/articles/", 400, "bad cursor", signed_in=True, query={"cursor": "bad"}),
    Case("GET /api/me/articles/", 401, "anonymous"),
    Case("GET /api/articles/export/", 200, "NDJSON", signed_in=True),
    Case("GET /api/articles/export/", 200, "CSV", signed_in=True, query={"format": "csv"}),
    Case("GET /api/articles/export/", 400, "unknown format", signed_in=True, query={"format": "xml"}),
    Case("GET /api/articles/export/", 401, "anonymous"),
    Case("POST /api/articles/export/jobs/", 202, "queued", signed_in=True),
    Case("POST /api/articles/export/jobs/", 400, "unknown format", signed_in=True, query={"format": "xml"}),
    Case("POST /api/articles/export/jobs/", 401, "anonymous"),
    Case("POST /api/articles/export/jobs/", 429, "over the rate", signed_in=True, twice=True),
    Case("GET /api/articles/export/jobs/{id}/", 200, "done", target="job", signed_in=True),
    Case("GET /api/articles/export/jobs/{id}/", 404, "unknown id", target="missing_job", signed_in=True),
    Case("GET /api/articles/export/jobs/{id}/download/", 200, "the file", target="job", signed_in=True),
    Case("GET /api/articles/export/jobs/{id}/download/", 404, "unknown id", target="missing_job", signed_in=True),
]


@dataclass(frozen=True)
class World:
    """The seeded rows the cases point at, and the writer's token."""

    ids: dict[str, int | str]
    token: str


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """Return the OpenAPI document the project serves."""
    return served_document(Client())


@pytest.fixture(scope="module")
def openapi(document: dict[str, Any]) -> OpenAPI:
    """Return the validator of requests and responses against the served document, refusing undocumented fields."""
    # The export's media types: NDJSON's lines are checked as the array of rows the document describes.
    exports: dict[str, Callable[..., Any]] = {"application/x-ndjson": ndjson_loads, "text/csv": csv_loads}
    config = Config(additional_properties_default_policy="forbid", extra_media_type_deserializers=exports)
    return OpenAPI.from_dict(document, config=config)


def ndjson_loads(body: bytes, **parameters: str) -> list[Any]:
    """Return the objects of an NDJSON body, one a line."""
    return [orjson.loads(line) for line in body.splitlines()]


def csv_loads(body: bytes, **parameters: str) -> str:
    """Return a CSV body as text (the document describes it as a string)."""
    return body.decode(parameters.get("charset", "utf-8"))


@pytest.fixture
def world(writer: User, writer_author: Author, settings: Settings, tmp_path: Path) -> World:
    """Return the writer's published article and draft, someone else's article and draft, tags and comments."""
    mine = ArticleFactory.create(author=writer_author, tags=[TagFactory.create(slug="django"), TagFactory.create()])
    CommentFactory.create_batch(2, article=mine)
    ArticleFactory.create(author=writer_author, status=Article.Status.DRAFT, published_at=None)
    theirs = ArticleFactory.create()
    their_draft = ArticleFactory.create(status=Article.Status.DRAFT, published_at=None)
    token, _ = Token.objects.get_or_create(user=writer)
    settings.API_EXPORT_DIR = tmp_path
    job = ExportJob.objects.create(owner=writer)
    export_articles(str(job.pk))
    ids: dict[str, int | str] = {
        "mine": mine.pk,
        "theirs": theirs.pk,
        "their_draft": their_draft.pk,
        "author": writer_author.pk,
        "missing": their_draft.pk + 1000,
        "job": str(job.pk),
        "missing_job": str(uuid.uuid4()),
    }
    return World(ids=ids, token=token.key)


def operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Return ("METHOD /path/", operation) for every operation of the document."""
    return [
        (f"{m.upper()} {p}", op) for p, item in document["paths"].items() for m, op in item.items() if m in METHODS
    ]


def send(case: Case, world: World, headers: dict[str, str]) -> tuple[MockRequest, HttpResponse]:
    """Return the request as openapi-core sees it, and the response the project gives it."""
    path = case.operation.split()[1].format(id=world.ids[case.target])
    if case.signed_in:
        headers = {**headers, "Authorization": f"Token {world.token}"}
    response: HttpResponseBase = Client().generic(
        case.method, path, case.data, content_type=case.content_type, headers=headers, query_params=case.query
    )
    if isinstance(response, StreamingHttpResponse):  # an export: its whole body is read here, to validate
        body = b"".join(response.streaming_content)  # type: ignore[arg-type]  # bytes: the export yields bytes
        response = HttpResponse(body, status=response.status_code, headers=response.headers)
    assert isinstance(response, HttpResponse)
    # Built from the case rather than wrapped with DjangoOpenAPIRequest: the URL names its argument pk where the
    # document says id, and DRF has already consumed the body stream.
    request = MockRequest(
        HOST, case.method, path, args=case.query, headers=headers, data=case.data, content_type=case.content_type
    )
    return request, response


def respond(case: Case, world: World, assert_num_queries: DjangoAssertNumQueries) -> tuple[MockRequest, HttpResponse]:
    """Return the case's request and the response to check: the first, or the second of two when the case says so."""
    sent, response = send(case, world, case.headers)
    if case.twice and case.method == "GET":
        with assert_num_queries(0):  # served from the cache
            return send(case, world, {})
    if case.twice:
        return send(case, world, {})
    if case.revalidate:
        assert response.status_code == 200
        return send(case, world, {"If-None-Match": response["ETag"]})
    return sent, response


@pytest.mark.parametrize("case", CASES, ids=str)
def test_response_conforms_to_the_schema(
    case: Case,
    document: dict[str, Any],
    openapi: OpenAPI,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    if case.status == 429:
        monkeypatch.setattr(
            SimpleRateThrottle, "THROTTLE_RATES", dict.fromkeys(("comments", "anon", "user", "export"), "1/minute")
        )

    sent, response = respond(case, world, django_assert_num_queries)

    assert response.status_code == case.status, response.content
    if case.status < 400:
        openapi.validate_request(sent)
    openapi.validate_response(sent, DjangoOpenAPIResponse(response))
    # openapi-core skips the body of a response documented without content: check there is none.
    documented = dict(operations(document))[case.operation]["responses"][str(case.status)]
    assert bool(response.content) == ("content" in documented), "a body is documented exactly when there is one"


def test_every_operation_has_a_success_case_and_an_error_case(document: dict[str, Any]) -> None:
    for operation, spec in operations(document):
        statuses = {case.status for case in CASES if case.operation == operation}
        assert any(200 <= status < 300 for status in statuses), f"{operation} has no success case"
        # The server in front of Django gives SERVER_REFUSALS: no request to the application can.
        errors = {int(status) for status in spec["responses"] if int(status) >= 400} - SERVER_REFUSALS
        assert not errors or statuses & errors, f"{operation} documents {sorted(errors)} but has no case for one"


def test_every_case_is_a_documented_response_of_the_document(document: dict[str, Any]) -> None:
    documented = dict(operations(document))

    for case in CASES:
        assert case.operation in documented, f"{case.operation} is not in the document"
        assert str(case.status) in documented[case.operation]["responses"], f"{case} is not documented"


def test_every_response_shape_lists_all_its_properties_as_required(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    # With COMPONENT_SPLIT_REQUEST the request shapes are the *Request components; the others are responses.
    for name, schema in schemas.items():
        if name.endswith("Request") or "properties" not in schema:
            continue
        optional = set(schema["properties"]) - set(schema.get("required", []))
        assert not optional, f"{name} leaves {sorted(optional)} optional, but every response has them"
