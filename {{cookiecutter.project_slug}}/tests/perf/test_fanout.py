"""``make bench-fanout``'s report: the table's medians and the ratios it draws from them."""

from tests.perf.fanout import ASYNC, CACHED, SEQUENTIAL, Row, table
from tests.perf.load import LoadResult

SETTINGS = {
    "delay": 0.08,
    "workers": 5,
    "connections": 8,
    "rounds": 3,
    "duration": 5.0,
    "database": "SQLite + file cache",
    "generator": "wrk",
}


def rows() -> list[Row]:
    """Return the table's rows with made-up runs: fan-out twice as fast, the cached read under ASGI at a quarter."""
    return [
        Row("async fan-out", "granian ASGI", ASYNC, [LoadResult(100, 50, 90, 0), LoadResult(120, 60, 80, 0)]),
        Row("sync sequential", "gunicorn", SEQUENTIAL, [LoadResult(55, 110, 150, 0)]),
        Row("cached read", "gunicorn", CACHED, [LoadResult(4000, 2, 4, 0)]),
        Row("cached read", "granian ASGI", CACHED, [LoadResult(1000, 8, 16, 1)]),
    ]


def test_table_shows_the_medians_and_the_errors_of_each_row() -> None:
    text = table(rows(), SETTINGS)

    assert "| async fan-out | granian ASGI | /api/overview/ | 110 | 55.0 | 85.0 | 0 |" in text
    assert "| cached read | granian ASGI | /api/articles/ | 1000 | 8.0 | 16.0 | 1 |" in text


def test_table_gives_the_fan_out_gain_and_the_cached_read_loss_as_ratios() -> None:
    text = table(rows(), SETTINGS)

    assert "p50 0.50x the latency, 2.00x the req/s" in text
    assert "Cached read (ASGI vs gunicorn): 0.25x the req/s, p50 4.00x the latency" in text
