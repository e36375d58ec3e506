"""deploy.supervise.stop: a server stops alone, or with ``group`` together with the processes it started."""

import os
import subprocess
import sys
import time
from pathlib import Path

from deploy.supervise import stop

# A parent that starts a child which ignores nothing and sleeps, prints the child's pid, then sleeps itself.
PARENT = (
    "import subprocess, sys, time; "
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
    "print(child.pid, flush=True); time.sleep(60)"
)


def _alive(pid: int) -> bool:
    """Return whether a process with this pid still runs (not a zombie)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _parent_and_child() -> tuple[subprocess.Popen[bytes], int]:
    """Return a parent process leading its own session, and the pid of the child it started."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, start_new_session=True)
    assert parent.stdout is not None
    return parent, int(parent.stdout.readline())


def _gone(pid: int, seconds: float = 10.0) -> bool:
    """Return whether the process ends within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_stop_with_group_stops_the_processes_the_server_started() -> None:
    parent, child = _parent_and_child()

    stop(parent, group=True)

    assert parent.returncode is not None
    assert _gone(child)


def test_stop_without_group_stops_the_server_alone() -> None:
    parent, child = _parent_and_child()
    try:
        stop(parent)

        assert parent.returncode is not None
        assert _alive(child)
    finally:
        os.kill(child, 9)
