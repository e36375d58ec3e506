"""A request carrying X-Bench-Miss misses only through the benchmark's application, under one key of its own."""

import io
from collections.abc import Iterable
from typing import Any

import pytest
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIRequest

from core.toolkit.views import CachedReadView
from tests.perf.endpoints import call_wsgi, wsgi_environ
from tests.perf.misses import MISS_HEADER, MISS_MARK, StartResponse, forget_misses, with_misses


class AnswerView(CachedReadView):
    """A cached view of nothing: only its key matters here."""

    public_methods = ("GET",)

    def read(self) -> Any:
        """Return a constant body."""
        return {"answer": 42}


def keys_of_each_request() -> tuple[list[tuple[str, str]], Any]:
    """Return the list that fills with each request's (lookup key, store key), and the WSGI app filling it."""
    keys: list[tuple[str, str]] = []

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = WSGIRequest({**environ, "wsgi.input": io.BytesIO()})
        view = AnswerView()
        # A miss asks for the key twice: to look the entry up, then to lock and store it.
        keys.append((view.cache_key(request, {}, "public"), view.cache_key(request, {}, "public")))
        start_response("200 OK", [])
        return [b""]

    return keys, application


def test_a_request_with_the_miss_header_gets_a_key_no_other_request_has() -> None:
    keys, project = keys_of_each_request()
    bench = with_misses(project)

    call_wsgi(bench, wsgi_environ("/answer/", {}))
    for _ in range(2):
        call_wsgi(bench, wsgi_environ("/answer/", {MISS_HEADER: "1"}))

    plain, first_miss, second_miss = (lookup for lookup, _ in keys)
    assert first_miss.startswith(plain + MISS_MARK)
    assert len({plain, first_miss, second_miss}) == 3


def test_a_miss_looks_up_and_stores_its_entry_under_one_key() -> None:
    keys, project = keys_of_each_request()

    call_wsgi(with_misses(project), wsgi_environ("/answer/", {MISS_HEADER: "1"}))

    [(lookup, store)] = keys
    assert MISS_MARK in lookup
    assert lookup == store


def test_the_miss_header_changes_no_key_outside_the_benchmark_application() -> None:
    keys, project = keys_of_each_request()
    with_misses(project)  # installed in this process, as in the benchmark's server

    call_wsgi(project, wsgi_environ("/answer/", {}))
    call_wsgi(project, wsgi_environ("/answer/", {MISS_HEADER: "1"}))

    [(plain, _), (with_header, _)] = keys
    assert with_header == plain


@pytest.mark.skipif(not hasattr(cache, "delete_pattern"), reason="the cache cannot find keys by pattern (not Redis)")
def test_forget_misses_deletes_the_entries_of_misses_and_keeps_the_others() -> None:
    cache.set(f"response:warm{MISS_MARK}0123", b"miss")
    cache.set("response:warm", b"warm")

    forget_misses()

    assert cache.get(f"response:warm{MISS_MARK}0123") is None
    assert cache.get("response:warm") == b"warm"
