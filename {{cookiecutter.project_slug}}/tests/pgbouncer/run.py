"""Run the whole suite through a pgbouncer in transaction mode, started here in front of DATABASE_URL's server.

``python -m tests.pgbouncer.run [--port N] [--pool-size 20] [pytest arguments]`` (``make test-pgbouncer``,
``PGBOUNCER_ARGS=...``) writes a pgbouncer configuration and auth file to a temporary folder, starts pgbouncer on
127.0.0.1 (on a free port unless ``--port`` names one) with one wildcard database in front of DATABASE_URL's server
(postgres://postgres@127.0.0.1:5432/test when unset), runs pytest, with the project's options, with DATABASE_URL
pointing at pgbouncer and ``DJANGO_DB_POOLER=pgbouncer``, prints a one-line summary, stops pgbouncer and exits with
pytest's status. REDIS_URL and the rest of the environment pass through. pytest-django creates the test database
through pgbouncer too (and drops it first with ``--create-db``).
"""

import argparse
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from deploy.supervise import running
from tests.perf.servers import free_port

PROJECT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test"
# Server connections per database and user: the transactions that run at once, which the suite's threads and
# servers keep well under this; the rest queue in pgbouncer.
DEFAULT_POOL_SIZE = 20
# Client connections: every thread and server process of the suite keeps its own (CONN_MAX_AGE), idle or not.
MAX_CLIENT_CONNECTIONS = 1000
# The project's default statement timeout (DJANGO_DB_STATEMENT_TIMEOUT_MS), which the settings cannot send through
# pgbouncer: each server connection sets it when it opens, as a deployment's pgbouncer.ini can.
STATEMENT_TIMEOUT_MS = 30_000
# Debian and Ubuntu install pgbouncer into /usr/sbin, which an ordinary user's PATH often lacks.
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
INSTALL_HINT = "install it with `apt-get install pgbouncer` (Debian, Ubuntu) or `brew install pgbouncer` (macOS)"
STARTUP_SECONDS = 20
# pgbouncer refuses to run as root: started by root, it runs as this user (or nobody), who must read its folder.
UNPRIVILEGED_USERS = ("postgres", "nobody")
# pytest's last line: "12 passed, 1 skipped in 3.40s", between "=" signs unless -q.
SUMMARY = re.compile(r"\d+ (passed|failed|errors?|skipped|deselected)\b.* in [\d.]+s")


@dataclass(frozen=True)
class Server:
    """Where a PostgreSQL server is, and who logs in: the parts of a DATABASE_URL."""

    host: str
    port: int
    user: str
    password: str
    name: str

    @classmethod
    def from_url(cls, url: str) -> "Server":
        """Return the server a postgres:// URL names; raise ValueError for any other URL."""
        parts = urlsplit(url)
        if parts.scheme not in {"postgres", "postgresql"} or not parts.hostname:
            raise ValueError(f"DATABASE_URL must be a postgres:// URL with a host: {url!r}")
        return cls(
            host=parts.hostname,
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            name=parts.path.lstrip("/") or "postgres",
        )

    def url_through(self, port: int) -> str:
        """Return the URL of the same database and user, through a pgbouncer on 127.0.0.1:port."""
        login = quote(self.user, safe="") + (f":{quote(self.password, safe='')}" if self.password else "")
        return f"postgres://{login}@127.0.0.1:{port}/{self.name}"


def find_pgbouncer() -> str | None:
    """Return the pgbouncer to run (PGBOUNCER, else pgbouncer on the PATH or in /usr/sbin), or None."""
    return shutil.which(os.environ.get("PGBOUNCER") or "pgbouncer", path=SEARCH_PATH)


def configuration(server: Server, *, port: int, pool_size: int, folder: Path) -> str:
    """Return a pgbouncer.ini pooling per transaction on 127.0.0.1:port in front of the server, every database."""
    return f"""\
[databases]
; Any database name the client asks for, on the server: the suite's, its test database, and "postgres", from
; which the test database is created and dropped.
* = host={server.host} port={server.port} connect_query='SET statement_timeout = {STATEMENT_TIMEOUT_MS}'

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
; No Unix socket: the port's socket file could collide with another pgbouncer's.
unix_socket_dir =
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = {MAX_CLIENT_CONNECTIONS}
; Client logins are not checked; the server checks pgbouncer's, with the password of the auth file if it asks.
auth_type = trust
auth_file = {folder / "userlist.txt"}
; Idle server connections close soon, so a database the suite drops is not held open for long.
server_idle_timeout = 5
; After a failed login to a database (one the suite is about to create) pgbouncer makes its next clients wait this
; long (15 s by default) before it tries again: a database created just then must be reachable at once.
server_login_retry = 0
logfile = {folder / "pgbouncer.log"}
log_connections = 0
log_disconnections = 0
log_stats = 0
"""


def auth_file(server: Server) -> str:
    """Return the auth file: the one user, with the password pgbouncer logs in to the server with."""
    escaped = server.password.replace('"', '""')
    return f'"{server.user}" "{escaped}"\n'


@contextmanager
def pgbouncer(server: Server, *, port: int, pool_size: int) -> Iterator[Path]:
    """Run pgbouncer on 127.0.0.1:port in front of the server until the block ends; yield its log file."""
    executable = find_pgbouncer()
    if executable is None:
        raise RuntimeError(f"pgbouncer not found: {INSTALL_HINT}")
    if _listening(port):
        # Ready would then mean the other server, not this pgbouncer.
        raise RuntimeError(f"127.0.0.1:{port} is taken: pick another port with PGBOUNCER_ARGS=--port=N")
    with tempfile.TemporaryDirectory(prefix="pgbouncer-") as name:
        folder = Path(name)
        (folder / "pgbouncer.ini").write_text(configuration(server, port=port, pool_size=pool_size, folder=folder))
        (folder / "userlist.txt").write_text(auth_file(server))
        command = [executable, "--quiet", *_as_unprivileged_user(folder), str(folder / "pgbouncer.ini")]
        log = folder / "pgbouncer.log"

        def ready(process: subprocess.Popen[bytes]) -> bool:
            return _listening(port)

        try:
            with running(command, name="pgbouncer", ready=ready, seconds=STARTUP_SECONDS, poll=0.1):
                yield log
        except RuntimeError:
            _print_tail(log)
            raise


def _as_unprivileged_user(folder: Path) -> list[str]:
    """Return the options that make pgbouncer run as an ordinary user when started by root, owning the folder."""
    if os.geteuid() != 0:
        return []
    for user in UNPRIVILEGED_USERS:
        try:
            account = pwd.getpwnam(user)
        except KeyError:
            continue
        for path in (folder, *folder.iterdir()):
            os.chown(path, account.pw_uid, account.pw_gid)
        return ["--user", user]
    raise RuntimeError(f"pgbouncer refuses to run as root, and none of the users {UNPRIVILEGED_USERS} exists")


def _listening(port: int) -> bool:
    """Return whether something accepts connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _print_tail(log: Path, lines: int = 20) -> None:
    """Print the end of pgbouncer's log, where its reason for failing is."""
    if log.exists():
        print("\n".join(log.read_text(errors="replace").splitlines()[-lines:]), file=sys.stderr)


def run_suite(url: str, pytest_arguments: list[str]) -> tuple[int, str]:
    """Return pytest's status and its last summary line, its output passed through as it comes."""
    environment = {**os.environ, "DATABASE_URL": url, "DJANGO_DB_POOLER": "pgbouncer"}
    command = [sys.executable, "-m", "pytest", *pytest_arguments]
    summary = ""
    with subprocess.Popen(
        command, cwd=PROJECT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            if SUMMARY.search(line):
                summary = line.strip("= \n")
    return process.returncode, summary


def main() -> int:
    """Start pgbouncer, run the suite through it, stop it; return pytest's status (1 when pgbouncer cannot run)."""
    options, pytest_arguments = _parse_arguments()
    try:
        server = Server.from_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    except ValueError as error:
        print(f"test-pgbouncer: {error}", file=sys.stderr)
        return 1
    started = time.monotonic()
    port = options.port or free_port()
    try:
        with pgbouncer(server, port=port, pool_size=options.pool_size):
            status, summary = run_suite(server.url_through(port), pytest_arguments)
    except RuntimeError as error:
        print(f"test-pgbouncer: {error}", file=sys.stderr)
        return 1
    minutes = (time.monotonic() - started) / 60
    print(
        f"test-pgbouncer: {summary or 'no summary'} through pgbouncer (transaction pooling) on 127.0.0.1:"
        f"{port} in front of {server.host}:{server.port}; pytest exited {status} after {minutes:.1f} min"
    )
    return status


def _parse_arguments() -> tuple[argparse.Namespace, list[str]]:
    """Return the options, and the arguments left for pytest."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--port", type=int, default=None, help="pgbouncer's port (default: a free one)")
    parser.add_argument(
        "--pool-size",
        type=int,
        default=DEFAULT_POOL_SIZE,
        help=f"pgbouncer's default_pool_size: server connections per database (default {DEFAULT_POOL_SIZE})",
    )
    return parser.parse_known_args()


if __name__ == "__main__":
    sys.exit(main())
