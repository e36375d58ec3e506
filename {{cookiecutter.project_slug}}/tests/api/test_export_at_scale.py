"""The export of 100,000 articles from a real gunicorn worker: constant memory, and sent while it is read.

PostgreSQL only: the server-side cursor is what keeps the worker's memory flat. The rows are committed in the test
database (``transactional_db`` empties it afterwards) so the gunicorn worker, a process of its own, reads them.
"""

import os
import socket
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.authtoken.models import Token

from api.export import article_export_rows
from api.models import Article, Author, Tag
from tests.factories import UserFactory
from tests.perf.servers import free_port, gunicorn, production_env

pytestmark = pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="DATABASE_URL is not set")
# The serving gunicorn's application_name in PostgreSQL: the sessions the test ends are its own, never this process's.
SERVER_NAME = "export-at-scale-server"

ROWS = 100_000
# How much the worker's peak resident memory (VmHWM) may grow while it exports ROWS articles: a few chunks of
# rows and the database driver's buffers fit, the export held as one list (measured below) does not.
PEAK_GROWTH_BOUND = 40 * 2**20
# The client's receive buffer: small, so the server can run ahead of what the client read by little more than
# its own send buffer (a few MB on loopback, a fraction of the export's ~20 MB).
CLIENT_BUFFER = 64 * 2**10
FIRST_READ = 64 * 2**10
ROW_START = b'{"id":'


@dataclass(frozen=True)
class Server:
    """The serving gunicorn's URL, its one worker's process id, and a token to export with."""

    port: int
    worker: int
    token: str


def seed(count: int) -> None:
    """Insert ``count`` published articles by one author, every second one with two tags, in a few statements."""
    author = Author.objects.create(name="Scale", email="scale@example.com")
    tags = [Tag.objects.create(name=name, slug=name) for name in ("bulk", "postgres")]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {Article._meta.db_table} (title, slug, body, status, published_at, updated_at, author_id)
            SELECT 'Article ' || n || ': streaming exports in constant memory', 'scale-' || n, 'Body.',
                'published', now() - n * interval '1 second', now(), %s
            FROM generate_series(1, %s) AS n""",  # noqa: S608 - the table name is the model's
            [author.pk, count],
        )
        cursor.execute(
            f"""INSERT INTO {Article.tags.through._meta.db_table} (article_id, tag_id)
            SELECT article.id, tag.id FROM {Article._meta.db_table} article, {Tag._meta.db_table} tag
            WHERE article.id %% 2 = 0 AND tag.id = ANY(%s)""",  # noqa: S608 - the table names are the models'
            [[tag.pk for tag in tags]],
        )


def peak_memory(pid: int) -> int:
    """Return the process's peak resident memory (VmHWM) in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for process {pid}")


def only_child(pid: int) -> int:
    """Return the one child process of the process: gunicorn's worker."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if len(children) == 1:
            return int(children[0])
        time.sleep(0.1)
    raise AssertionError(f"gunicorn {pid} has no single worker")


def export_request(server: Server, query: str = "") -> socket.socket:
    """Return a socket, with a small receive buffer, on which the export was requested."""
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, CLIENT_BUFFER)
    client.connect(("127.0.0.1", server.port))
    client.sendall(
        f"GET /api/articles/export/{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {server.token}\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    return client


def read_all(client: socket.socket) -> bytes:
    """Return what the server sends until it closes the connection."""
    received = bytearray()
    while chunk := client.recv(2**20):
        received += chunk
    return bytes(received)


@pytest.fixture
def seeded(transactional_db: None) -> None:
    """Commit ROWS articles to the test database, emptied again after the test."""
    seed(ROWS)


@pytest.fixture
def server(seeded: None, tmp_path: Path) -> Iterator[Server]:
    """Serve the seeded test database with one gunicorn worker; yield it."""
    user: User = UserFactory.create()
    token = Token.objects.create(user=user).key
    settings = connection.settings_dict
    database = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    pidfile = tmp_path / "gunicorn.pid"
    # Named, so the test can end the server's database sessions and only those (libpq reads PGAPPNAME).
    env = production_env(DATABASE_URL=database, GUNICORN_CMD_ARGS=f"--pid {pidfile}", PGAPPNAME=SERVER_NAME)
    port = free_port()
    with gunicorn(port, workers=1, env=env, log=tmp_path / "gunicorn.log"):
        yield Server(port=port, worker=only_child(int(pidfile.read_text())), token=token)


def test_export_of_100k_articles_keeps_the_workers_peak_memory_within_the_bound(server: Server) -> None:
    # Loads the view and opens the worker's database connection, without exporting.
    assert b" 400 " in read_all(export_request(server, "?format=xml")).split(b"\r\n")[0]
    before = peak_memory(server.worker)

    started = time.perf_counter()
    body = read_all(export_request(server))
    seconds = time.perf_counter() - started
    growth = peak_memory(server.worker) - before

    assert body.count(ROW_START) == ROWS
    print(f"\nexported {ROWS} rows ({len(body) / 2**20:.1f} MB) in {seconds:.2f} s; peak grew {growth / 2**20:.1f} MB")
    assert growth < PEAK_GROWTH_BOUND


def test_export_of_100k_articles_held_as_one_list_would_exceed_the_bound(seeded: None) -> None:
    tracemalloc.start()
    try:
        rows = list(article_export_rows())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(rows) == ROWS
    print(f"\nthe {ROWS} rows as one list: {peak / 2**20:.1f} MB at peak")
    assert peak > PEAK_GROWTH_BOUND


def test_export_sends_its_first_rows_before_it_has_read_the_last(server: Server) -> None:
    client = export_request(server)
    first = client.recv(FIRST_READ)
    assert first.startswith(b"HTTP/1.1 200 ")

    # The serving worker's database session ends now: a worker still reading rows from its cursor cannot finish;
    # one that had read them all before sending the first byte would send them all. Never this test's own: behind
    # pgbouncer a server connection keeps the name its last client gave it, and this query may run on one the
    # server's worker used before.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s"
            " AND pid <> pg_backend_pid()",
            [SERVER_NAME],
        )
    body = first + read_all(client)

    received = body.count(ROW_START)
    print(f"\nthe client got {received} of {ROWS} rows before the database session ended")
    assert 0 < received < ROWS
