"""The in-process profiling runner: it calls a WSGI application as wrk would, and refuses to time an error."""

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from tests.perf.in_process import environ_for, time_requests


def test_environ_for_asks_for_the_path_with_its_query_string() -> None:
    environ = environ_for("/api/articles/?page_size=50")

    assert (environ["REQUEST_METHOD"], environ["PATH_INFO"]) == ("GET", "/api/articles/")
    assert environ["QUERY_STRING"] == "page_size=50"


def counting_application(status: str, calls: list[str]) -> Callable[..., Iterable[bytes]]:
    """Return a WSGI application that answers status and notes each query string it is asked for."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        calls.append(environ["QUERY_STRING"])
        start_response(status, [("Content-Type", "text/plain")])
        return [b"ok"]

    return application


def test_time_requests_calls_the_application_once_a_request() -> None:
    calls: list[str] = []

    batch = time_requests(counting_application("200 OK", calls), "/x/?a=1", 25)

    assert calls == ["a=1"] * 25
    assert batch.wall_ns > 0


def test_time_requests_refuses_to_time_a_path_that_does_not_answer_200() -> None:
    with pytest.raises(RuntimeError, match="answered 404 Not Found"):
        time_requests(counting_application("404 Not Found", []), "/missing/", 3)
