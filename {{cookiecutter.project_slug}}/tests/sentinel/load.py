"""Load for the failover: readers noting the titles each answer shows and whether it was a hit, a writer retitling.

Every title the writer sends is ``sentinel <n>``, n counting up, so a read shows which write of an article it reflects,
and a read is stale when it started after the 2xx of a later write of that article. A response is a hit of the shared
cache when its Server-Timing header (``DJANGO_SERVER_TIMING=on``) counts no database query and at least one cache call
(a hit of the process-local layer makes none).
"""

import http.client
import itertools
import json
import random
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

REQUEST_TIMEOUT = 15.0
READERS = 4
READ_PAUSE = 0.01
WRITE_PAUSE = 0.05
MAX_LOAD_SECONDS = 120.0
TITLE = "sentinel {}"
SHARED_HIT = re.compile(r'db;dur=[0-9.]+;desc="0 queries", cache;dur=[0-9.]+;desc="[1-9]')


@dataclass(frozen=True)
class Exchange:
    """One request and its answer: a status (None: none came), whether the shared cache hit, the titles it showed."""

    method: str
    path: str
    started: float
    ended: float
    status: int | None
    hit: bool = False
    titles: dict[int, int] = field(default_factory=dict)  # article id: the write (n) its title comes from, -1 none


@dataclass(frozen=True)
class Write:
    """A retitle acknowledged with a 2xx: the article, the n of its title, and when the 2xx arrived."""

    article: int
    number: int
    acknowledged: float


class Recorder:
    """Sends requests to the served project and keeps every exchange and acknowledged write."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.exchanges: list[Exchange] = []
        self.writes: list[Write] = []
        self._lock = threading.Lock()
        # Above every title an earlier run left in the database, so the titles it finds read as older.
        self._numbers = itertools.count(time.time_ns() // 1000)

    def read(self, path: str) -> Exchange:
        """GET path and record what it showed."""
        started = time.monotonic()
        status, headers, payload = self._send("GET", path)
        hit = status == 200 and bool(SHARED_HIT.search(headers.get("Server-Timing", "")))
        titles = _titles(payload) if status == 200 else {}
        exchange = Exchange("GET", path, started, time.monotonic(), status, hit, titles)
        with self._lock:
            self.exchanges.append(exchange)
        return exchange

    def retitle(self, article: int, token: str) -> Exchange:
        """PATCH the article's title to the next ``sentinel <n>`` as the token's user; record it if acknowledged."""
        with self._lock:
            number = next(self._numbers)
        started = time.monotonic()
        status, _, _ = self._send("PATCH", f"/api/articles/{article}/", {"title": TITLE.format(number)}, token)
        exchange = Exchange("PATCH", f"/api/articles/{article}/", started, time.monotonic(), status)
        with self._lock:
            self.exchanges.append(exchange)
            if status is not None and 200 <= status < 300:
                self.writes.append(Write(article, number, exchange.ended))
        return exchange

    def fetch(self, path: str) -> tuple[int | None, Any]:
        """Return the status and JSON body of a GET, without recording it (the health check)."""
        status, _, payload = self._send("GET", path)
        return status, payload

    def _send(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None
    ) -> tuple[int | None, dict[str, str], Any]:
        """Return the status, headers and JSON body of one request on a connection of its own (None: no answer)."""
        headers = {"Accept": "application/json", "Connection": "close"}
        if token:
            headers["Authorization"] = f"Token {token}"
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = connection.getresponse()
            content = response.read()
            payload = json.loads(content) if content and response.status in (200, 503) else None
            return response.status, dict(response.getheaders()), payload
        except (OSError, http.client.HTTPException, ValueError):
            return None, {}, None
        finally:
            connection.close()


def _titles(payload: Any) -> dict[int, int]:
    """Return, for each article a detail or a list shows, the n of its title (-1 for a title no write gave it)."""
    items = payload.get("results", [payload]) if isinstance(payload, dict) else []
    return {item["id"]: _number(item.get("title", "")) for item in items if "id" in item}


def _number(title: str) -> int:
    """Return the n of a ``sentinel <n>`` title, -1 for any other."""
    prefix = TITLE.format("")
    rest = title.removeprefix(prefix)
    return int(rest) if title.startswith(prefix) and rest.isdigit() else -1


@dataclass
class Load:
    """Readers and a writer running in threads until stopped."""

    recorder: Recorder
    paths: Sequence[str]
    articles: Sequence[int]
    token: str
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        """Start the readers and the writer."""
        for number in range(READERS):
            self.threads.append(threading.Thread(target=self._read, args=(number,), daemon=True))
        self.threads.append(threading.Thread(target=self._write, daemon=True))
        for thread in self.threads:
            thread.start()

    def end(self) -> None:
        """Stop every thread and wait for its request in flight."""
        self.stop.set()
        for thread in self.threads:
            thread.join(REQUEST_TIMEOUT + 5)

    def _read(self, number: int) -> None:
        """Read the paths in a random order until stopped."""
        chooser = random.Random(number)  # noqa: S311 - a load pattern, not a secret
        deadline = time.monotonic() + MAX_LOAD_SECONDS
        while not self.stop.is_set() and time.monotonic() < deadline:
            self.recorder.read(chooser.choice(self.paths))
            self.stop.wait(READ_PAUSE)

    def _write(self) -> None:
        """Retitle the articles in turn until stopped."""
        deadline = time.monotonic() + MAX_LOAD_SECONDS
        for article in _cycle(self.articles):
            if self.stop.is_set() or time.monotonic() > deadline:
                return
            self.recorder.retitle(article, self.token)
            self.stop.wait(WRITE_PAUSE)


def _cycle(items: Sequence[int]) -> Iterator[int]:
    """Yield the items in turn, for ever."""
    while True:
        yield from items


@dataclass(frozen=True)
class StaleRead:
    """A read that showed an article older than a write acknowledged before the read started."""

    started: float
    article: int
    seconds: float  # since the 2xx of the first write it missed


def stale_reads(exchanges: Sequence[Exchange], writes: Sequence[Write]) -> list[StaleRead]:
    """Return every read that showed an article's title from before a write acknowledged before the read started."""
    by_article: dict[int, list[Write]] = {}
    for write in sorted(writes, key=lambda write: write.acknowledged):
        by_article.setdefault(write.article, []).append(write)
    found = []
    for exchange in exchanges:
        for article, shown in exchange.titles.items():
            missed = [
                write
                for write in by_article.get(article, [])
                if write.acknowledged < exchange.started and write.number > shown
            ]
            if missed:
                found.append(StaleRead(exchange.started, article, exchange.started - missed[0].acknowledged))
    return found
