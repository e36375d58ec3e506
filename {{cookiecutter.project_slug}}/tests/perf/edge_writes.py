"""What the edge costs a write, and how soon after a write the edge serves it: the write half of ``make bench``'s edge.

Two servers of the same project on the same database take the same writes in turn, one with the edge configured
(each committed write purges its keys at Varnish before answering) and one without: the difference of their median
write times is what purging adds. Then writes go through the edge, each followed at once by reads of the written
article through the edge until one shows it: the time from the write's answer to that read's is how long after a
commit the edge serves the new data, and every read in between that showed the old title is counted as stale.
"""

import http.client
import json
import statistics
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

WRITES = 200


@dataclass(frozen=True)
class EdgeWrites:
    """The write half of the edge's measurements, in milliseconds."""

    writes: int
    with_edge_ms: float
    without_edge_ms: float
    fresh_p50_ms: float
    fresh_p99_ms: float
    stale_reads: int

    @property
    def added_ms(self) -> float:
        """Return what purging adds to the median write."""
        return self.with_edge_ms - self.without_edge_ms


def writer() -> tuple[str, int]:
    """Return the token of a new writer and the id of a published article of theirs (in this process's database)."""
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from api.factories import ArticleFactory, AuthorFactory

    # Named after the user, not the factories' sequences, which start again in each process: a database a
    # previous run wrote to already holds their first email and slug.
    name = f"bench-writer-{time.time_ns()}"
    user = User.objects.create_user(name)
    author = AuthorFactory.create(user=user, email=f"{name}@example.com")
    article = ArticleFactory.create(author=author, slug=name, status="published")
    return Token.objects.create(user=user).key, article.pk


def measure(*, with_edge: str, without_edge: str, edge: str, token: str, article: int) -> EdgeWrites:
    """Return the write costs and the delay before fresh reads, against these base URLs."""
    path = f"/api/articles/{article}/"
    with_times: list[float] = []
    without_times: list[float] = []
    for number in range(WRITES):
        # In turn, so a machine that slows down moves both series alike.
        for base, times in ((with_edge, with_times), (without_edge, without_times)):
            started = time.perf_counter()
            _patch(base, path, token, f"Timed write {number}")
            times.append((time.perf_counter() - started) * 1000)
    delays: list[float] = []
    stale = 0
    for number in range(WRITES):
        title = f"Edge write {number}"
        _patch(edge, path, token, title)
        answered = time.perf_counter()
        while _get(edge, path).get("title") != title:
            stale += 1
        delays.append((time.perf_counter() - answered) * 1000)
    quantiles = statistics.quantiles(delays, n=100)
    return EdgeWrites(
        writes=WRITES,
        with_edge_ms=statistics.median(with_times),
        without_edge_ms=statistics.median(without_times),
        fresh_p50_ms=statistics.median(delays),
        fresh_p99_ms=quantiles[98],
        stale_reads=stale,
    )


def table(result: EdgeWrites) -> str:
    """Return the measurements as a Markdown table."""
    return "\n".join([
        "| measure | value |",
        "|---|--:|",
        f"| a write (PATCH of an article), median, edge configured | {result.with_edge_ms:.2f} ms |",
        f"| the same write, no edge | {result.without_edge_ms:.2f} ms |",
        f"| added by purging | {result.added_ms:.2f} ms |",
        f"| from a write's answer to the first read through the edge showing it, p50 | {result.fresh_p50_ms:.2f} ms |",
        f"| the same, p99 | {result.fresh_p99_ms:.2f} ms |",
        f"| reads through the edge that showed the old data after a write's answer, of {result.writes} writes | "
        f"{result.stale_reads} |",
    ])  # fmt: skip


def _patch(base: str, path: str, token: str, title: str) -> None:
    """Change the article's title; raise unless the server answers 200."""
    status, body = request_json(base, "PATCH", path, {"title": title}, {"Authorization": f"Token {token}"})
    if status != http.HTTPStatus.OK:
        raise RuntimeError(f"PATCH {path} answered {status}: {body}")


def _get(base: str, path: str) -> dict[str, Any]:
    """Return the JSON body of a GET."""
    return request_json(base, "GET", path, None, {})[1]


def request_json(
    base: str, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    """Return the status and JSON body (empty: {}) of one request to base, on a new connection."""
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port or 80, timeout=30)
    try:
        sent = {**headers, "Content-Type": "application/json"} if body is not None else headers
        connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=sent)
        response = connection.getresponse()
        payload = response.read()
        return response.status, json.loads(payload) if payload else {}
    finally:
        connection.close()
