"""Load for the fault suite: readers and writers in threads on loopback, every exchange recorded with its times.

Each request opens its own connection (sync workers close it after the answer anyway), so a killed worker loses
only the request it was serving. Every write the server acknowledges with a 2xx is logged with what it wrote.
"""

import http.client
import json
import random
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# Above the database pool's 10 s wait, so a slow answer is counted as an answer, not as a dropped request.
REQUEST_TIMEOUT = 15.0
READERS = 4
WRITERS = 2
READ_PAUSE = 0.02
WRITE_PAUSE = 0.05
# No load thread outlives this, whatever happens to the fault that stops it.
MAX_LOAD_SECONDS = 90.0


@dataclass(frozen=True)
class Exchange:
    """One request and its answer: a status, or None when none came (refused, reset or timed out)."""

    method: str
    path: str
    started: float
    ended: float
    status: int | None
    retry_after: bool


class Client:
    """An HTTP client for the served project that records every exchange."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    def send(
        self, method: str, path: str, *, body: dict[str, Any] | None = None, token: str | None = None
    ) -> tuple[Exchange, Any]:
        """Return the exchange and, for a 2xx, its JSON body (else None)."""
        headers = {"Accept": "application/json", "Connection": "close"}
        if token:
            headers["Authorization"] = f"Token {token}"
        if body is not None:
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        status, retry_after, content = None, False, b""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = connection.getresponse()
            content = response.read()
            status, retry_after = response.status, response.getheader("Retry-After") is not None
        except (OSError, http.client.HTTPException):
            pass  # no answer: recorded as such
        finally:
            connection.close()
        exchange = Exchange(method, path, started, time.monotonic(), status, retry_after)
        with self._lock:
            self.exchanges.append(exchange)
        payload = json.loads(content) if status is not None and 200 <= status < 300 and content else None
        return exchange, payload


@dataclass
class WriteLog:
    """The writes one client sent: each article's titles in order (acknowledged or not) and acknowledged comments."""

    titles: dict[int, list[tuple[str, bool]]] = field(default_factory=dict)
    comments: list[int] = field(default_factory=list)
    acknowledged: int = 0

    def created(self, article_id: int, title: str) -> None:
        """Log an acknowledged create."""
        self.titles[article_id] = [(title, True)]
        self.acknowledged += 1

    def titled(self, article_id: int, title: str, *, acknowledged: bool) -> None:
        """Log a title change, whether it was acknowledged or not (then it may or may not have landed)."""
        self.titles.setdefault(article_id, []).append((title, acknowledged))
        self.acknowledged += acknowledged

    def commented(self, comment_id: int) -> None:
        """Log an acknowledged comment."""
        self.comments.append(comment_id)
        self.acknowledged += 1


def expected_writes(logs: Sequence[WriteLog]) -> dict[str, Any]:
    """Return what the database must hold: each article's allowed titles and the acknowledged comments' ids.

    An article must have its last acknowledged title, or one sent after it that got no 2xx (that write may have
    landed); anything else means an acknowledged write was lost.
    """
    titles: dict[str, list[str]] = {}
    for log in logs:
        for article_id, sent in log.titles.items():
            last = max((index for index, (_, acknowledged) in enumerate(sent) if acknowledged), default=None)
            if last is not None:
                titles[str(article_id)] = [title for title, _ in sent[last:]]
    return {"titles": titles, "comments": [pk for log in logs for pk in log.comments]}


class Writer(threading.Thread):
    """Creates articles as its author, then changes their titles and comments on them, until stopped."""

    def __init__(self, number: int, client: Client, token: str, stop: threading.Event) -> None:
        super().__init__(name=f"chaos-writer-{number}", daemon=True)
        self.number, self.client, self.token, self.stop = number, client, token, stop
        self.log = WriteLog()
        #: Held during each write: whoever takes it knows no write of this writer is in flight.
        self.busy = threading.Lock()
        self._random = random.Random(number)  # noqa: S311 - a load pattern, not a secret
        self._count = 0

    def run(self) -> None:
        """Write until stopped, a pause between writes."""
        deadline = time.monotonic() + MAX_LOAD_SECONDS
        while not self.stop.is_set() and time.monotonic() < deadline:
            with self.busy:
                self._write()
            self.stop.wait(WRITE_PAUSE)

    def _write(self) -> None:
        """Create an article, change a title or comment, in turn."""
        if self._count % 3 == 0 or not self.log.titles:
            self._create()
        elif self._count % 3 == 1:
            self._retitle(self._random.choice(list(self.log.titles)))
        else:
            self._comment(self._random.choice(list(self.log.titles)))
        self._count += 1

    def _title(self) -> str:
        """Return a title no other write uses."""
        return f"chaos w{self.number} {self._count} {time.monotonic_ns()}"

    def _create(self) -> None:
        """Create a published article."""
        title = self._title()
        body = {"title": title, "body": "Written under a fault.", "status": "published"}
        _, created = self.client.send("POST", "/api/articles/", body=body, token=self.token)
        if created is not None:
            self.log.created(created["id"], title)

    def _retitle(self, article_id: int) -> None:
        """Change one of its articles' title."""
        title = self._title()
        _, changed = self.client.send("PATCH", f"/api/articles/{article_id}/", body={"title": title}, token=self.token)
        self.log.titled(article_id, title, acknowledged=changed is not None)

    def _comment(self, article_id: int) -> None:
        """Comment on one of its articles."""
        body = {"author_name": f"chaos w{self.number}", "body": "A comment under a fault."}
        _, comment = self.client.send("POST", f"/api/articles/{article_id}/comments/", body=body)
        if comment is not None:
            self.log.commented(comment["id"])


@contextmanager
def writes_held(writers: Sequence[Writer]) -> Iterator[None]:
    """Hold the writers between two writes: their writes in flight end first, none starts until the block ends."""
    held = [writer.busy for writer in writers if writer.busy.acquire(timeout=REQUEST_TIMEOUT)]
    try:
        yield
    finally:
        for lock in held:
            lock.release()


class Reader(threading.Thread):
    """Reads the list, details and comments (the probe's among them) in turn, until stopped."""

    def __init__(self, number: int, client: Client, paths: Sequence[str], stop: threading.Event) -> None:
        super().__init__(name=f"chaos-reader-{number}", daemon=True)
        self.client, self.paths, self.stop = client, paths, stop
        self._random = random.Random(1000 + number)  # noqa: S311 - a load pattern, not a secret

    def run(self) -> None:
        """Read until stopped, a pause between reads."""
        deadline = time.monotonic() + MAX_LOAD_SECONDS
        while not self.stop.is_set() and time.monotonic() < deadline:
            self.client.send("GET", self._random.choice(self.paths))
            self.stop.wait(READ_PAUSE)


def read_paths(*, articles: Sequence[int], probe: int, prober_author: int) -> list[str]:
    """Return the paths readers choose from: the lists, each article's detail and comments, the probe's."""
    paths = ["/api/articles/", "/api/articles/?page_size=5", "/api/authors/", "/api/tags/"]
    paths += [f"/api/articles/{pk}/" for pk in articles] + [f"/api/articles/{pk}/comments/" for pk in articles]
    return [*paths, f"/api/articles/{probe}/", f"/api/articles/?author={prober_author}"]
