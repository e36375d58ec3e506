"""Served on a primary and a streaming replica: rebuilds read the replica, never older than a write, never a 5xx.

``make test-replicas``: the suite's own primary and ``pg_basebackup -R`` replica, gunicorn with production settings on
both (tests/replicas/conftest.py). The replica's statement log tells which reads reached it; pausing its replay shows
what a lagging replica would have answered.
"""

import statistics
import time
import uuid
from typing import Any

import orjson
import pytest

from core.plumbing.db.read_your_writes import COOKIE
from tests.replicas.conftest import REPLICA_TIMEOUT, RETRY_SECONDS, WINDOW_SECONDS, Answer, Served

pytestmark = pytest.mark.replicas

MISSES = 20
ARTICLE_TABLE = '"api_article"'
# The query that asks a replica how far it has replayed (core/plumbing/db/replicas.py).
POSITION_ASKED = "pg_is_in_recovery"
# Pages no other read asks for: each read of one is a miss, rebuilt from versions the replica has replayed.
FRESH_PAGES = (f"/api/articles/?page_size={n}&ordering={order}" for order in ("title", "id") for n in range(1, 101))


def _titles_of(body: Any, article: int) -> list[str]:
    """Return the titles a detail or list body shows for the article (none when it does not show it)."""
    rows = body.get("results", [body]) if isinstance(body, dict) else []
    return [row["title"] for row in rows if isinstance(row, dict) and row.get("id") == article]


def _author_of(served: Served, article: int) -> int:
    """Return the article's author id, as the API shows it."""
    author: int = served.get(f"/api/articles/{article}/").body["author"]["id"]
    return author


def _write_title(served: Served, article: int) -> tuple[str, str]:
    """Give the article a new title through the API; return the title and the cookie the write's answer set."""
    title = f"written while the replica replays nothing {uuid.uuid4().hex[:8]}"
    written = served.send("PATCH", f"/api/articles/{article}/", token=served.writer_token, body={"title": title})
    assert written.status == 200, written
    return title, f"{COOKIE}={written.cookies[COOKIE]}"


def _rebuild_on_the_replica(served: Served) -> bool:
    """Return whether a miss reached the replica, trying fresh pages until one does or a few retries have passed."""
    served.replica.catch_up()
    before = served.replica.logged(ARTICLE_TABLE)
    # A replica skipped after a fault is tried again RETRY_SECONDS later: misses past that reach it.
    deadline = time.monotonic() + RETRY_SECONDS + 10
    while served.replica.logged(ARTICLE_TABLE) == before and time.monotonic() < deadline:
        served.get(next(FRESH_PAGES))
        time.sleep(0.2)
    return served.replica.logged(ARTICLE_TABLE) > before


def test_rebuilds_read_the_replica_once_it_has_replayed_their_writes(served: Served) -> None:
    assert _rebuild_on_the_replica(served)


def test_a_write_is_read_back_at_once_while_the_replica_replays_nothing(
    served: Served, figures: dict[str, str]
) -> None:
    article = served.articles[0]
    served.replica.catch_up()
    detail, listing = f"/api/articles/{article}/", f"/api/articles/?author={_author_of(served, article)}"
    replica_title = served.get(detail).body["title"]
    # Only what this test reads is in the cache: every entry there is one it read again after the last write.
    served.cache.flushdb()
    for path in (detail, listing, detail, listing):
        served.get(path)
    reads: list[tuple[str, Answer, str]] = []

    with served.replica.replay_paused():
        # 1. Another client reads first: its rebuild is not pinned, the version guard alone keeps it off the replica.
        title, cookie = _write_title(served, article)
        asked = served.replica.logged(POSITION_ASKED)
        reads += [("other", served.get(path), title) for path in (detail, listing)]
        reads += [("writer", served.get(path, cookie=cookie), title) for path in (detail, listing)]
        asked_unpinned = served.replica.logged(POSITION_ASKED) - asked
        # 2. The writer reads first: pinned to the primary by the cookie, its rebuilds do not even ask the replica.
        title, cookie = _write_title(served, article)
        asked = served.replica.logged(POSITION_ASKED)
        reads += [("writer", served.get(path, cookie=cookie), title) for path in (detail, listing)]
        reads += [("other", served.get(path), title) for path in (detail, listing)]
        asked_pinned = served.replica.logged(POSITION_ASKED) - asked
        # 3. The writer reads first once the window has passed: not pinned any more, guarded by the versions.
        title, cookie = _write_title(served, article)
        time.sleep(WINDOW_SECONDS + 1.5)
        reads += [("writer after the window", served.get(path, cookie=cookie), title) for path in (detail, listing)]
        reads += [("other", served.get(path), title) for path in (detail, listing)]
        # What a lagging replica would have answered: none of the three writes.
        with served.replica.connect() as connection:
            on_replica = connection.execute("SELECT title FROM api_article WHERE id = %s", [article]).fetchone()
        entries = [_titles_of(orjson.loads(entry.body), article) for entry in served.entries()]

    stale_reads = [(who, answer.body) for who, answer, title in reads if _titles_of(answer.body, article) != [title]]
    shown = [titles for titles in entries if titles]
    stale_entries = [titles for titles in shown if titles != [title]]
    figures["stale reads after a write, replay paused"] = f"{len(stale_reads)} of {len(reads)}"
    figures["stale entries stored"] = f"{len(stale_entries)} of {len(shown)}"
    assert on_replica == (replica_title,)
    assert (asked_unpinned > 0, asked_pinned) == (True, 0)
    assert stale_reads == []
    assert len(shown) == 2  # the detail's entry and the list's
    assert stale_entries == []


def _timed_misses(served: Served, ordering: str) -> list[float]:
    """Read pages no other read asked for (misses), each a 200 with its rows; return each read's seconds."""
    seconds = []
    for page_size in range(1, MISSES + 1):
        started = time.monotonic()
        answer = served.send("GET", f"/api/articles/?page_size={page_size}&ordering={ordering}")
        seconds.append(time.monotonic() - started)
        assert answer.status == 200, answer
        assert len(answer.body["results"]) == page_size
    return seconds


def _record(figures: dict[str, str], case: str, seconds: list[float]) -> None:
    """Record the slowest and the median read of a case, and how many took over a second."""
    slow = sum(1 for taken in seconds if taken > 1)
    figures[f"{case}: slowest read, median read, reads over 1 s"] = (
        f"{max(seconds):.2f} s, {statistics.median(seconds) * 1000:.0f} ms, {slow} of {len(seconds)}"
    )


def test_reads_answer_200_from_the_primary_once_the_replica_is_stopped(
    served: Served, figures: dict[str, str]
) -> None:
    assert _rebuild_on_the_replica(served)
    served.replica.stop_immediately()
    try:
        seconds = _timed_misses(served, "published_at")
        health = served.send("GET", "/health/")
    finally:
        served.replica.catch_up()

    _record(figures, "replica stopped", seconds)
    assert health.status == 200


def test_reads_answer_200_from_the_primary_while_the_replica_hangs(served: Served, figures: dict[str, str]) -> None:
    assert _rebuild_on_the_replica(served)
    with served.replica.frozen():
        seconds = _timed_misses(served, "-published_at")
    served.replica.catch_up()

    _record(figures, f"replica frozen (SIGSTOP), cut after {REPLICA_TIMEOUT} s", seconds)
