"""The project wrapped as the benchmark's WSGI application wraps it: a warm hit, and a miss on X-Bench-Miss only.

tests/perf/wsgi.py wraps the project's handler with ``with_misses``; importing it here would set Django up a second
time (``get_wsgi_application``), so these tests wrap a handler of their own the same way.
"""

from collections.abc import Iterator

import orjson
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from pytest_django import DjangoAssertNumQueries

from api.factories import TagFactory
from tests.perf.endpoints import call_wsgi, wsgi_environ
from tests.perf.misses import MISS_HEADER, WSGIApplication, with_misses

pytestmark = pytest.mark.django_db


@pytest.fixture
def application() -> WSGIApplication:
    """Return the project's WSGI handler wrapped as the benchmark's application wraps it."""
    return with_misses(WSGIHandler())


@pytest.fixture(autouse=True)
def _test_connection_kept() -> Iterator[None]:
    """Keep the test's database connection open across requests, as Django's test client does."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def test_the_benchmark_application_serves_a_warm_entry_with_no_query(
    application: WSGIApplication, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    TagFactory.create_batch(3)
    call_wsgi(application, wsgi_environ("/api/tags/", {}))

    with django_assert_num_queries(0):
        answer = call_wsgi(application, wsgi_environ("/api/tags/", {}))

    assert answer.status == 200


def test_each_request_with_the_miss_header_rebuilds_the_entry(
    application: WSGIApplication, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    TagFactory.create_batch(3)
    call_wsgi(application, wsgi_environ("/api/tags/", {}))

    for _ in range(2):
        with django_assert_num_queries(1):
            answer = call_wsgi(application, wsgi_environ("/api/tags/", {MISS_HEADER: "1"}))
        assert answer.status == 200
        assert "1 miss" in answer.headers["Server-Timing"]


def test_a_miss_serves_the_same_body_as_a_hit(application: WSGIApplication) -> None:
    TagFactory.create_batch(3)
    bodies = [
        orjson.loads(call_wsgi(application, wsgi_environ("/api/tags/", headers)).body)
        for headers in ({}, {}, {MISS_HEADER: "1"})
    ]

    assert bodies[0] == bodies[1] == bodies[2]
