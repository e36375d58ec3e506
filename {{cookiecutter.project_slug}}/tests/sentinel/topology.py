"""A Redis primary, its replica and three sentinels of the tests' own, on free loopback ports, in a temporary folder.

Nothing persists (``--save "" --appendonly no``). The replica connects as a user of its own (``replicator``), so a test
can cut it off from the primary while the sentinels still see it alive, as a network cut between the two would.
"""

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from tests.perf.servers import free_port

SENTINELS = 3
SERVICE = "sentinel-e2e"
QUORUM = 2
# A primary that does not answer for this long is down; the failover (election, promotion) then takes about a second.
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000
REPLICATOR, REPLICATOR_PASSWORD = "replicator", "replication-secret"
START_SECONDS = 20.0
POLL_SECONDS = 0.05


@dataclass
class Topology:
    """The servers and sentinels, each a process this test started."""

    folder: Path
    redis_server: str
    redis_sentinel: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # Ports: the first primary's, the replica's (promoted by a failover: primary_port() names the current one), the
    # sentinels'.
    primary: int = field(default_factory=free_port)
    replica: int = field(default_factory=free_port)
    sentinel_ports: tuple[int, ...] = field(default_factory=lambda: tuple(free_port() for _ in range(SENTINELS)))

    @property
    def sentinels(self) -> str:
        """Return REDIS_SENTINELS for these sentinels."""
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def client(self, port: int) -> redis.Redis:
        """Return a client of one server or sentinel."""
        return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, socket_connect_timeout=1)

    def start(self) -> None:
        """Start the primary, the replica and the sentinels; return once the sentinels see it and each other."""
        replicator = ("--user", REPLICATOR, "on", f">{REPLICATOR_PASSWORD}", "~*", "&*", "+@all")
        self._server("primary", self.primary, *replicator)
        self._server(
            "replica", self.replica, "--replicaof", "127.0.0.1", str(self.primary),
            "--masteruser", REPLICATOR, "--masterauth", REPLICATOR_PASSWORD,
        )  # fmt: skip
        self._until(lambda: self.client(self.replica).info("replication").get("master_link_status") == "up", "sync")
        for number, port in enumerate(self.sentinel_ports):
            self._sentinel(number, port)
        self._until(self._sentinels_ready, "the sentinels to see the replica and each other")

    def primary_port(self) -> int | None:
        """Return the port of the primary the sentinels name now (the first that answers), None if none answers."""
        for port in self.sentinel_ports:
            try:
                address: Any = self.client(port).sentinel_get_master_addr_by_name(SERVICE)
            except redis.RedisError:
                continue
            return int(address[1]) if address else None
        return None

    def cut_replication(self) -> None:
        """Cut the replica off the primary: its user can no longer log in, its link is closed; both stay up."""
        primary = self.client(self.primary)
        primary.acl_setuser(REPLICATOR, enabled=False)
        primary.client_kill_filter(user=REPLICATOR)

    def kill_primary(self) -> None:
        """Kill the primary with SIGKILL: whatever it has not sent its replica is lost."""
        os.kill(self.processes["primary"].pid, signal.SIGKILL)
        self.processes["primary"].wait(timeout=10)

    def stop(self) -> None:
        """Stop every process this topology started."""
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)

    def _server(self, name: str, port: int, *options: str) -> None:
        """Start one redis-server and return once it answers."""
        command = [self.redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        command += ["--dir", str(self.folder), "--dbfilename", f"{name}.rdb", "--logfile", str(self.folder / name)]
        self._start(name, [*command, *options])
        self._until(lambda: bool(self.client(port).ping()), f"{name} to answer")

    def _sentinel(self, number: int, port: int) -> None:
        """Start one sentinel watching the primary; it rewrites its configuration file as it learns."""
        config = self.folder / f"sentinel-{number}.conf"
        config.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {self.folder}\nlogfile {self.folder / f'sentinel-{number}.log'}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary} {QUORUM}\n"
            f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}\n"
            f"sentinel parallel-syncs {SERVICE} 1\n"
        )
        self._start(f"sentinel-{number}", [self.redis_sentinel, str(config)])

    def _sentinels_ready(self) -> bool:
        """Return whether every sentinel knows the replica and the other sentinels."""
        for port in self.sentinel_ports:
            try:
                master: Any = self.client(port).sentinel_master(SERVICE)
            except redis.RedisError:
                return False
            if master["num-slaves"] < 1 or master["num-other-sentinels"] < len(self.sentinel_ports) - 1:
                return False
        return True

    def _start(self, name: str, command: list[str]) -> None:
        """Start a process of the topology."""
        self.processes[name] = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _until(self, condition: Callable[[], bool], what: str) -> None:
        """Return once the condition holds; raise if it does not within START_SECONDS."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                if condition():
                    return
            except (redis.RedisError, OSError):
                pass
            time.sleep(POLL_SECONDS)
        raise RuntimeError(f"waited {START_SECONDS:.0f} s for {what}; logs in {self.folder}")
