"""``make bench URLS=...``: the URLs it accepts, the command it reports, how it reads Server-Timing, its table."""

import pytest

from core.observability.timing import Timings
from tests.perf.endpoints import (
    Case,
    Endpoint,
    cache_reads,
    command,
    notes,
    parse_arguments,
    parse_urls,
    server_timing,
    table,
    wsgi_environ,
)
from tests.perf.load import LoadResult

TAGS = Endpoint("/api/tags/", '"abc"', cached=True)
HEALTH = Endpoint("/health/", None, cached=False)


def test_parse_urls_reads_each_path_of_a_comma_separated_list() -> None:
    assert parse_urls("/api/tags/, /api/stats/,/api/articles/?page_size=50,") == [
        "/api/tags/",
        "/api/stats/",
        "/api/articles/?page_size=50",
    ]


@pytest.mark.parametrize(
    ("given", "advice"),
    [
        ("api/tags/", "type /api/tags/ instead"),
        ("http://127.0.0.1:8000/api/tags/?page_size=5", "type /api/tags/?page_size=5 instead"),
        ("", "name the paths to measure, such as make bench URLS=/api/tags/,/api/stats/"),
    ],
)
def test_parse_urls_refuses_what_is_not_a_path_saying_what_to_type(given: str, advice: str) -> None:
    with pytest.raises(ValueError, match="URLS") as refused:
        parse_urls(f"/api/stats/,{given}" if given else given)

    assert advice in str(refused.value)
    assert "\n" not in str(refused.value)


def test_the_urls_reach_the_runner_beside_the_load_options() -> None:
    options = parse_arguments(["--urls", "/api/tags/", "--rounds", "2", "--duration", "3"])

    assert (options.urls, options.rounds, options.duration) == ("/api/tags/", 2, 3.0)


def test_the_reported_command_names_the_urls_and_the_other_options() -> None:
    argv = ["--urls", "/api/tags/,/api/stats/", "--rounds", "2"]

    reported = command(["/api/tags/", "/api/stats/"], argv)

    assert reported == 'make bench URLS=/api/tags/,/api/stats/ BENCH_ARGS="--rounds 2"'
    assert command(["/api/tags/"], ["--urls=/api/tags/"]) == "make bench URLS=/api/tags/"


def test_server_timing_reads_every_part_and_the_cache_reads_of_the_middleware_header() -> None:
    timings = Timings()
    timings.cache_hits, timings.cache_misses = 2, 1

    header = timings.header()

    assert set(server_timing(header)) == {"db", "cache", "serialize", "render", "view", "other", "total"}
    assert cache_reads(header) == (2, 1)


def test_the_environ_carries_the_query_and_the_headers_of_the_request() -> None:
    environ = wsgi_environ("/api/tags/?page_size=5", {"If-None-Match": '"abc"', "X-Bench-Miss": "1"})

    assert (environ["PATH_INFO"], environ["QUERY_STRING"]) == ("/api/tags/", "page_size=5")
    assert (environ["HTTP_IF_NONE_MATCH"], environ["HTTP_X_BENCH_MISS"]) == ('"abc"', "1")


def measured(endpoint: Endpoint, kind: str, rates: list[float], queries: int) -> Case:
    """Return a case measured at the given rates, its parts each 0.5 ms but the total."""
    timing = dict.fromkeys(("db", "cache", "serialize", "render", "view", "other"), 0.5) | {"total": 3.0}
    runs = [LoadResult(rate, 1.0 + index, 5.0 + index, 0) for index, rate in enumerate(rates)]
    status = 304 if kind == "304" else 200
    return Case(endpoint, kind, status, queries, timing, (2, 1 if kind == "miss" else 0), runs)


def test_the_table_shows_each_request_with_its_medians_queries_and_breakdown() -> None:
    cases = [measured(TAGS, "warm", [900, 1100, 1000], 0), measured(TAGS, "miss", [300, 200, 400], 1)]

    lines = table(cases).splitlines()

    assert lines[0] == (
        "| URL | request | req/s | p50 | p99 | queries | cache hit / miss | db ms | cache ms | serialize ms "
        "| render ms | view ms | other ms | total ms |"
    )
    parts = "0.50 | " * 6 + "3.00 |"
    assert lines[2:] == [
        f"| /api/tags/ | warm | 1,000 | 2.00 ms | 6.00 ms | 0 | 2 / 0 | {parts}",
        f"| /api/tags/ | miss | 300 | 2.00 ms | 6.00 ms | 1 | 2 / 1 | {parts}",
    ]


def test_the_table_says_no_etag_instead_of_a_304_rate() -> None:
    row = table([Case(HEALTH, "304")]).splitlines()[2]

    assert row.startswith("| /health/ | 304 | no ETag | - | - |")


def test_the_table_names_a_status_other_than_the_one_asked_for() -> None:
    case = measured(TAGS, "304", [100], 0)
    case.status = 200

    assert "| 304 (answered 200) |" in table([case])


def test_the_notes_say_when_warm_and_miss_are_the_same_work_and_when_a_miss_did_not_miss() -> None:
    cached_but_warm = measured(TAGS, "miss", [100], 0)
    cached_but_warm.cache_reads = (3, 0)

    lines = notes([measured(HEALTH, "miss", [100], 2), Case(HEALTH, "304"), cached_but_warm])

    assert lines == [
        "- /health/: its view is not a cached view, so warm and miss are the same work.",
        "- /health/: its response has no ETag, so no request can be answered 304.",
        "- /api/tags/: the miss header found the cache warm (does its view's cache_key call super()?).",
    ]
