"""The refresh-ahead benchmark's counting: each read is counted against the last write answered before it."""

import pytest

from tests.perf.refresh_ahead import Read, phase, require_backends


def test_reads_are_counted_from_the_first_write_sent_and_each_write_followed_by_a_miss_is_found() -> None:
    reads = [
        Read(started=0.5, ms=9.0, hit=False),  # before any write: not counted
        Read(started=1.1, ms=8.0, hit=False),  # after write 1: a miss
        Read(started=1.2, ms=1.0, hit=True),
        Read(started=2.3, ms=1.0, hit=True),  # after write 2: hits only
        Read(started=3.4, ms=7.0, hit=False),  # after write 3: a miss
    ]

    result = phase([1.0, 2.0, 3.0], reads)

    assert (result.writes, result.reads, result.misses, result.writes_followed_by_a_miss) == (3, 4, 2, 2)
    assert result.miss_share == 0.5
    assert result.miss_p50_ms == 7.5


def test_the_benchmark_stops_with_one_line_without_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)

    with pytest.raises(SystemExit, match="needs REDIS_URL"):
        require_backends()
