"""Throwaway PostgreSQL and Redis servers on free loopback ports, for the fault suite to stop, fill and pause.

The shared servers (5432, 6379) are never touched: each instance here has its own folder, port and process, and is
removed when the suite ends. PostgreSQL refuses to run as root, so as root its programs run as the postgres user.
"""

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import redis

START_SECONDS = 30
STOP_SECONDS = 20
POLL_SECONDS = 0.05
POSTGRES_USER = "postgres"
DATABASE = "chaos"


def postgres_bindir() -> Path | None:
    """Return the folder of PostgreSQL's server programs (pg_config's, else the newest in Debian's place), or None."""
    if pg_config := shutil.which("pg_config"):
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if found and (Path(found) / "initdb").is_file():
            return Path(found)
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: _version(path.parts[-3]))
    if debian:
        return debian[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _version(name: str) -> tuple[int, ...]:
    """Return a folder name such as "15" or "9.6" as a comparable tuple."""
    return tuple(int(part) for part in re.findall(r"\d+", name))


class PostgresCluster:
    """A PostgreSQL cluster of its own in a temporary folder, served on 127.0.0.1:port."""

    def __init__(self, bindir: Path, port: int) -> None:
        self.bindir, self.port = bindir, port
        self.folder = Path(tempfile.mkdtemp(prefix="chaos-postgres-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        # As root the server runs as the postgres user, which must own the folder.
        self._as_user = ["runuser", "-u", POSTGRES_USER, "--"] if os.geteuid() == 0 else []
        if self._as_user:
            account = pwd.getpwnam(POSTGRES_USER)
            os.chown(self.folder, account.pw_uid, account.pw_gid)

    @property
    def url(self) -> str:
        """Return the DATABASE_URL of the suite's database."""
        return f"postgres://{POSTGRES_USER}@127.0.0.1:{self.port}/{DATABASE}"

    def create(self) -> None:
        """Create the cluster, start it and create the suite's database."""
        self._run("initdb", "-D", str(self.data), "-U", POSTGRES_USER, "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()
        with psycopg.connect(host="127.0.0.1", port=self.port, user=POSTGRES_USER, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {DATABASE}")

    def start(self) -> None:
        """Start the server and return once it accepts connections."""
        self._pg_ctl("start", "-l", str(self.log), "-o", self._server_options())

    def stop(self) -> None:
        """Stop the server the fast way: open transactions are rolled back, connections closed."""
        self._pg_ctl("stop", "-m", "fast")

    def restart(self) -> None:
        """Restart the server the fast way and return once it accepts connections again."""
        self._pg_ctl("restart", "-m", "fast", "-l", str(self.log), "-o", self._server_options())

    def remove(self) -> None:
        """Stop the server if it runs and delete the cluster's folder."""
        try:
            if (self.data / "postmaster.pid").exists():
                self._pg_ctl("stop", "-m", "immediate")
        except (subprocess.SubprocessError, OSError):
            self._kill_postmaster()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _server_options(self) -> str:
        """Return the server's options: the port, loopback only, the socket in the cluster's own folder."""
        return f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder}"

    def _pg_ctl(self, action: str, *args: str) -> None:
        """Run pg_ctl on the cluster and wait for the action to complete."""
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", str(START_SECONDS), action, *args)

    def _run(self, program: str, *args: str) -> None:
        """Run one of PostgreSQL's programs as the cluster's owner; raise with its output if it fails."""
        command = [*self._as_user, str(self.bindir / program), *args]
        # The cluster's folder as the working directory: the postgres user may not enter the caller's.
        result = subprocess.run(
            command, cwd=self.folder, capture_output=True, text=True, timeout=START_SECONDS + 30, check=False
        )
        if result.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}{log}")

    def _kill_postmaster(self) -> None:
        """Stop a server that pg_ctl could not stop."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGQUIT)
        except (OSError, ValueError, IndexError):
            return


class RedisServer:
    """A Redis server of its own on 127.0.0.1:port: no persistence, so a restart starts it empty."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.folder = Path(tempfile.mkdtemp(prefix="chaos-redis-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the REDIS_URL of the server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """Return a client for this server only."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def start(self) -> None:
        """Start the server and return once it answers PING."""
        command = [
            "redis-server",
            *("--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            *("--dir", str(self.folder), "--logfile", str(self.folder / "redis.log")),
        ]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited with status {self._process.returncode}")
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                time.sleep(POLL_SECONDS)
        raise RuntimeError(f"redis-server on port {self.port} did not answer within {START_SECONDS} s")

    def stop(self) -> None:
        """Stop the server; its data is lost, as after a crash of a cache without persistence."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=STOP_SECONDS)
        self._process = None

    def remove(self) -> None:
        """Stop the server and delete its folder."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
