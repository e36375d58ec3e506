"""A front server (nginx, Varnish) with gunicorn behind it, in the foreground: `make serve-front`, `make edge`."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from functools import partial
from types import FrameType

STOP_SECONDS = 30
POLL_SECONDS = 0.5


def supervise(
    name: str,
    front: AbstractContextManager[subprocess.Popen[bytes]],
    banner: str,
    app: Callable[[], subprocess.Popen[bytes]] | None = None,
) -> int:
    """Start the app (when given) and the front; when interrupted or either stops, stop both; return the status."""
    # SIGTERM ends the wait below as Ctrl-C does, so both servers are stopped either way.
    signal.signal(signal.SIGTERM, _interrupt)
    servers: list[subprocess.Popen[bytes]] = []
    try:
        if app is not None:
            servers.append(app())
        with front as process:
            servers.append(process)
            print(banner, flush=True)
            while all(server.poll() is None for server in servers):
                time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        return 0
    except RuntimeError as error:
        print(f"{name}: {error}", file=sys.stderr)
    finally:
        # The terminal's Ctrl-C reaches uv and make too, which pass it on: a second one must not cut the stop short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for server in servers:
            stop(server)
    return 1


@contextmanager
def running(
    command: list[str], *, name: str, ready: Callable[[subprocess.Popen[bytes]], bool], seconds: float, poll: float
) -> Iterator[subprocess.Popen[bytes]]:
    """Run command until the block ends, from when ``ready`` says it serves; raise if it exits or takes too long."""
    process = subprocess.Popen(command)  # noqa: S603 - our own command line
    try:
        deadline = time.monotonic() + seconds
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with status {process.returncode} (its reason is printed above)")
            if ready(process):
                break
            if time.monotonic() >= deadline:
                raise RuntimeError(f"{name} did not start within {seconds:g} s")
            time.sleep(poll)
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], *, group: bool = False) -> None:
    """Stop a server process (SIGTERM: nginx, Varnish and gunicorn all finish at once) and wait for it.

    With ``group``, the signals go to the process group it leads (``start_new_session=True``): a Celery worker and its
    pool processes stop together.
    """
    send = partial(_signal_group, process) if group else process.send_signal
    if process.poll() is None:
        send(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait()


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    """Send a signal to the process group the process leads, if any of it is left."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Raise KeyboardInterrupt, so SIGTERM stops the servers as Ctrl-C does."""
    raise KeyboardInterrupt
