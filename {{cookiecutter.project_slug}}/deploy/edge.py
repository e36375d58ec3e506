"""The edge: Varnish with deploy/varnish/default.vcl in front of the app, in the foreground, for ``make edge``.

``python -m deploy.edge`` starts gunicorn (gunicorn.conf.py) on 127.0.0.1:8000, as ``make serve`` does, and
varnishd on 127.0.0.1:6081 in front of it; Ctrl-C (or SIGTERM) stops both, and so does either one stopping.
``--edge-only`` starts varnishd alone, in front of an app already running (``make serve`` in another terminal, or
a supervisor's; ``--backend`` names its address; that app needs ``DJANGO_EDGE_PURGE_URLS=http://127.0.0.1:6081``).
The gunicorn started here purges the edge it stands behind. The VCL keeps the app's public reads (those with
Surrogate-Control) until a write purges their surrogate keys.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from deploy.supervise import running, supervise

DEPLOY = Path(__file__).resolve().parent
PROJECT = DEPLOY.parent
TEMPLATE = DEPLOY / "varnish" / "default.vcl"
WORKDIR = PROJECT / "var" / "edge"
LISTEN = "127.0.0.1:6081"
BACKEND = "127.0.0.1:8000"
# The addresses allowed to PURGE: the app, on this machine. Add the app servers' addresses when they are others.
PURGERS = ("127.0.0.1", "::1")
# How often the health probe polls /health/; a sick backend is noticed after two failed polls.
PROBE_INTERVAL = "2s"
# Debian and Ubuntu install varnishd into /usr/sbin, which an ordinary user's PATH often lacks.
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
INSTALL_HINT = (
    "install it with `apt-get install varnish varnish-modules` (Debian, Ubuntu); elsewhere Varnish 7 and "
    "varnish-modules from your system's packages or varnish-cache.org"
)
STARTUP_SECONDS = 20
STORAGE = "malloc,64m"


def find_varnishd() -> str | None:
    """Return the varnishd to run (VARNISHD, else varnishd on the PATH or in /usr/sbin), or None when there is none."""
    return shutil.which(os.environ.get("VARNISHD") or "varnishd", path=SEARCH_PATH)


def render(
    *, backend_host: str, backend_port: int, purgers: Sequence[str] = PURGERS, probe_interval: str = PROBE_INTERVAL
) -> str:
    """Return deploy/varnish/default.vcl with the backend, the purgers' ACL and the probe interval filled in."""
    acl = " ".join(f'"{address}";' for address in purgers)
    replacements = {
        "@BACKEND_HOST@": backend_host,
        "@BACKEND_PORT@": str(backend_port),
        "@PURGERS@": acl,
        "@PROBE_INTERVAL@": probe_interval,
    }
    text = TEMPLATE.read_text()
    for placeholder, value in replacements.items():
        text = text.replace(placeholder, value)
    return text


def varnishd_command(varnishd: str, *, listen: str, vcl: Path, workdir: Path) -> list[str]:
    """Return the command that runs varnishd in the foreground with vcl, its state inside workdir."""
    command = [varnishd, "-F", "-n", str(workdir / "n"), "-a", listen, "-f", str(vcl), "-s", STORAGE]
    # No management port: nothing here uses varnishadm, and an open CLI port is one more thing to secure.
    command += ["-T", "none"]
    if os.geteuid() == 0:
        # Started by root (in a container, say), varnishd's default jail runs the compiler and the worker as the
        # `varnish` user, who may not reach the workdir (pytest's are mode 0700): keep them with root. Started by
        # an ordinary user, as in production, there is no jail to choose.
        command += ["-j", "none"]
    return command


@contextmanager
def varnish(
    *,
    listen: str,
    backend_host: str,
    backend_port: int,
    workdir: Path,
    purgers: Sequence[str] = PURGERS,
    probe_interval: str = PROBE_INTERVAL,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run varnishd on listen in front of the backend until the block ends; raise if it does not start."""
    executable = find_varnishd()
    if executable is None:
        raise RuntimeError(f"varnishd not found: {INSTALL_HINT}")
    workdir.mkdir(parents=True, exist_ok=True)
    vcl = workdir / "default.vcl"
    vcl.write_text(
        render(backend_host=backend_host, backend_port=backend_port, purgers=purgers, probe_interval=probe_interval)
    )
    command = varnishd_command(executable, listen=listen, vcl=vcl, workdir=workdir)
    host, port = _split(listen)

    def ready(process: subprocess.Popen[bytes]) -> bool:
        # A PURGE without keys gets the VCL's own 400, so another server on the port, or a varnishd still
        # compiling, does not count. From outside the purgers' ACL the answer is 403, which also proves it is ours.
        return _purge_status(host, port) in (400, 403)

    with running(command, name="varnishd", ready=ready, seconds=STARTUP_SECONDS, poll=0.1) as process:
        yield process


def _purge_status(host: str, port: int) -> int | None:
    """Return the status of a PURGE without keys, or None when nothing answers."""
    try:
        with socket.create_connection((host, port), timeout=1) as connection:
            connection.sendall(b"PURGE / HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n")
            status_line = connection.recv(64).split(b"\r\n", 1)[0].split()
    except OSError:
        return None
    return int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else None


def _split(address: str) -> tuple[str, int]:
    """Return the host and port of a host:port address."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def main() -> int:
    """Serve until interrupted or until a server stops; return the exit status."""
    options = _parse_arguments()
    backend_host, backend_port = _split(options.backend)
    banner = f"Varnish on http://{options.listen}/ in front of {options.backend}; Ctrl-C stops"
    front = varnish(listen=options.listen, backend_host=backend_host, backend_port=backend_port, workdir=WORKDIR)
    app = None if options.edge_only else lambda: _start_gunicorn(options.backend, options.listen)
    return supervise("deploy.edge", front, banner, app)


def _parse_arguments() -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default=LISTEN, help=f"host:port Varnish listens on (default {LISTEN})")
    parser.add_argument("--backend", default=BACKEND, help=f"the app's host:port (default {BACKEND})")
    parser.add_argument("--edge-only", action="store_true", help="start Varnish only; the app runs elsewhere")
    return parser.parse_args()


def _start_gunicorn(bind: str, listen: str) -> subprocess.Popen[bytes]:
    """Start gunicorn with gunicorn.conf.py bound to bind, purging the edge on listen (unless told of another)."""
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
    environment = {"DJANGO_EDGE_PURGE_URLS": f"http://{listen}", **os.environ, "GUNICORN_BIND": bind}
    return subprocess.Popen(command, cwd=PROJECT, env=environment)  # noqa: S603


if __name__ == "__main__":
    sys.exit(main())
