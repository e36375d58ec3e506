"""A front server (nginx, Varnish) with gunicorn behind it, in the foreground: `make serve-front`, `make edge`."""

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
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


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server process (SIGTERM: nginx, Varnish and gunicorn all finish at once) and wait for it."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Raise KeyboardInterrupt, so SIGTERM stops the servers as Ctrl-C does."""
    raise KeyboardInterrupt
