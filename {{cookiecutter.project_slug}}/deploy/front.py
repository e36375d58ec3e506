"""The front: nginx with deploy/nginx.conf in front of gunicorn, in the foreground, for ``make serve-front``.

``python -m deploy.front`` starts gunicorn (gunicorn.conf.py) on a Unix socket only nginx uses, and nginx on
127.0.0.1:8080; Ctrl-C (or SIGTERM) stops both, and so does either one stopping. ``--nginx-only`` starts nginx
alone, in front of a gunicorn run by a supervisor of its own (``--upstream`` names its address).
"""

import argparse
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deploy.supervise import running, supervise

DEPLOY = Path(__file__).resolve().parent
PROJECT = DEPLOY.parent
TEMPLATE = DEPLOY / "nginx.conf"
PREFIX = PROJECT / "var" / "front"
# nginx.conf's `pid`, inside the prefix folder.
PID_FILE = "nginx.pid"
LISTEN = "127.0.0.1:8080"
UPSTREAM = f"unix:{PREFIX / 'gunicorn.sock'}"
# Debian and Ubuntu install nginx into /usr/sbin, which an ordinary user's PATH often lacks.
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
INSTALL_HINT = "install it with `apt-get install nginx` (Debian, Ubuntu) or `brew install nginx`, or set NGINX"
STARTUP_SECONDS = 10


def find_nginx() -> str | None:
    """Return the nginx to run (NGINX, else nginx on the PATH or in /usr/sbin), or None when there is none."""
    return shutil.which(os.environ.get("NGINX") or "nginx", path=SEARCH_PATH)


def render(*, listen: str, upstream: str) -> str:
    """Return deploy/nginx.conf with the address nginx listens on and gunicorn's address filled in."""
    return TEMPLATE.read_text().replace("@LISTEN@", listen).replace("@UPSTREAM@", upstream)


def write_config(prefix: Path, *, listen: str, upstream: str) -> Path:
    """Write the rendered configuration into the prefix folder, creating it; return the file's path."""
    prefix.mkdir(parents=True, exist_ok=True)
    config = prefix / "nginx.conf"
    config.write_text(render(listen=listen, upstream=upstream))
    return config


def nginx_command(nginx: str, prefix: Path, config: Path) -> list[str]:
    """Return the command that runs nginx with config, its relative paths inside prefix."""
    command = [nginx, "-p", f"{prefix}/", "-c", str(config)]
    if os.geteuid() == 0:
        # Started by root (in a container, say), nginx hands its workers to `nobody`, who may not reach the prefix
        # folder: keep them with root. Started by an ordinary user, as in production, they stay that user's.
        command += ["-g", f"user {pwd.getpwuid(0).pw_name};"]
    return command


@contextmanager
def nginx(*, listen: str, upstream: str, prefix: Path = PREFIX) -> Iterator[subprocess.Popen[bytes]]:
    """Run nginx on listen in front of upstream until the block ends; raise if it does not start."""
    executable = find_nginx()
    if executable is None:
        raise RuntimeError(f"nginx not found: {INSTALL_HINT}")
    config = write_config(prefix, listen=listen, upstream=upstream)
    pid_file = prefix / PID_FILE
    pid_file.unlink(missing_ok=True)
    command = nginx_command(executable, prefix, config)

    def ready(process: subprocess.Popen[bytes]) -> bool:
        # nginx writes its pid file after binding. Not a test connection: another server already on the port
        # would answer it.
        return pid_file.is_file() and pid_file.read_text().strip() == str(process.pid)

    with running(command, name="nginx", ready=ready, seconds=STARTUP_SECONDS, poll=0.05) as process:
        yield process


def main() -> int:
    """Serve until interrupted or until a server stops; return the exit status."""
    options = _parse_arguments()
    banner = f"nginx on http://{options.listen}/, gunicorn on {options.upstream}; Ctrl-C stops both"
    front = nginx(listen=options.listen, upstream=options.upstream)
    app = None if options.nginx_only else lambda: _start_gunicorn(options.upstream)
    return supervise("deploy.front", front, banner, app)


def _parse_arguments() -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default=LISTEN, help=f"host:port nginx listens on (default {LISTEN})")
    parser.add_argument("--upstream", default=UPSTREAM, help="gunicorn's address: host:port or unix:/path")
    parser.add_argument("--nginx-only", action="store_true", help="start nginx only; gunicorn runs elsewhere")
    return parser.parse_args()


def _start_gunicorn(upstream: str) -> subprocess.Popen[bytes]:
    """Start gunicorn with gunicorn.conf.py bound to upstream."""
    PREFIX.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
    return subprocess.Popen(command, cwd=PROJECT, env={**os.environ, "GUNICORN_BIND": upstream})  # noqa: S603


if __name__ == "__main__":
    sys.exit(main())
