"""The bench report's servers table: each stage under each server, and the ratio as the median of the rounds'."""

from tests.perf.load import LoadResult
from tests.perf.report import Stage, StageResult, server_table

WARM = Stage(5, "warm", "/api/articles/", "the real endpoint, cache warm")


def measured(server: str, rates: list[float]) -> StageResult:
    """Return the warm stage's result on server, one round per rate, each with a p99 of 2 ms."""
    runs = [LoadResult(requests_per_second=rate, p50_ms=1.0, p99_ms=2.0, errors=0) for rate in rates]
    return StageResult(WARM, 50, 50, 0, 12_000, 100.0, runs=runs, server=server)


def test_server_table_shows_each_server_and_the_median_of_the_rounds_ratios() -> None:
    # Round ratios 3, 1 and 1: their median is 1.00x; the ratio of the medians (300 / 200) would be 1.50x.
    table = server_table([measured("gunicorn", [100, 200, 400]), measured("granian", [300, 200, 400])])

    assert table.splitlines() == [
        "| # | stage | gunicorn req/s | gunicorn p99 | granian req/s | granian p99 | granian/gunicorn |",
        "|---|---|--:|--:|--:|--:|--:|",
        "| 5 | warm | 200 | 2.00 ms | 300 | 2.00 ms | 1.00x |",
    ]
