"""Granian for ``make serve SERVER=granian``: the project's WSGI application, set from gunicorn.conf.py's variables.

``python -m deploy.granian_server [APP]`` replaces itself with ``granian --interface wsgi`` (same process, so
signals reach granian's main process directly); ``--interface asgi`` serves the project's ASGI application instead
(``make serve-asgi``; README, "ASGI where it pays"). The variables of gunicorn.conf.py that granian has a counterpart
for mean the same here:

- ``HOST`` and ``PORT`` (127.0.0.1:8000), or ``GUNICORN_BIND``: host:port, or unix:/path for a Unix socket (nginx's
  upstream);
- ``GUNICORN_WORKERS``: worker processes, by default (2 x cores) + 1 as for gunicorn;
- ``GUNICORN_GRACEFUL_TIMEOUT``: on SIGTERM or SIGHUP, how long a worker may finish its requests before it is killed;
- ``GUNICORN_LOG_LEVEL``; ``GUNICORN_ACCESS_LOG``: any value turns granian's access log on, always to stdout.

Any other option of ``granian --help`` can be set with its own GRANIAN_* variable. What gunicorn.conf.py does
and granian 2.8 does not (README, "gunicorn or granian"):

- No timeout for a stuck request (gunicorn's ``timeout``, 35 s): nothing kills a worker whose request hangs;
  PostgreSQL's statement_timeout bounds a query, nothing bounds a request stuck elsewhere.
- No recycling by request count (``max_requests`` and its jitter): granian restarts workers by age
  (GRANIAN_WORKERS_LIFETIME, at least 60 s) or by memory (GRANIAN_WORKERS_MAX_RSS), both off unless set.
- No ``preload_app``: each worker imports the project, so a settings error shows once per worker, and the
  workers do not share the loaded code's memory. In return SIGHUP loads new code, which gunicorn's preload does not.
- Its own log format (``[INFO] message``), not the project's LOGGING format, which Django's own loggers keep.
- Its workers outlive a main process killed by SIGKILL and go on serving the port, where gunicorn's workers notice
  and exit: a supervisor should stop it by process group (systemd's default KillMode does).
"""

import argparse
import os
import sys

from granian.constants import Interfaces

from deploy.address import bind_address

# Django's ASGI handler answers no lifespan events: granian's asginl interface sends none, where its asgi one would
# warn at every start that they failed.
INTERFACES = {"wsgi": Interfaces.WSGI, "asgi": Interfaces.ASGINL}
APPS = {Interfaces.WSGI: "core.plumbing.wsgi:application", Interfaces.ASGINL: "core.plumbing.asgi:application"}
APP = APPS[Interfaces.WSGI]
# Django's database connections are per thread, each taken from a pool of DJANGO_DB_POOL_MAX_SIZE (4) per process.
# Granian's WSGI default is hundreds of threads per worker: under load they would wait on the pool, then answer
# 503. One thread runs one request at a time, as a gunicorn sync worker does; granian still reads and writes the
# connections itself, in Rust.
BLOCKING_THREADS = "1"


def granian_arguments(app: str, environ: dict[str, str], interface: Interfaces = Interfaces.WSGI) -> list[str]:
    """Return granian's command-line arguments for app on interface, from gunicorn.conf.py's variables in environ."""
    bind = bind_address(environ)
    if bind.startswith("unix:"):
        address = ["--uds", bind.removeprefix("unix:")]
    else:
        host, _, port = bind.rpartition(":")
        address = ["--host", host.strip("[]"), "--port", port]
    # (2 x cores) + 1 as in gunicorn.conf.py, since each worker runs one request at a time and waits on PostgreSQL
    # or Redis; granian warns above one worker per core, a count meant for workers with many threads.
    workers = environ.get("GUNICORN_WORKERS") or str((os.cpu_count() or 1) * 2 + 1)
    arguments = [
        *address,
        f"--interface={interface.value}",
        f"--workers={workers}",
        f"--workers-kill-timeout={environ.get('GUNICORN_GRACEFUL_TIMEOUT', '30')}",
        f"--log-level={environ.get('GUNICORN_LOG_LEVEL', 'info')}",
        # A worker that dies (killed, out of memory) is replaced, as gunicorn does; without this granian stops.
        "--respawn-failed-workers",
    ]
    if environ.get("GUNICORN_ACCESS_LOG"):
        arguments.append("--access-log")
    return [*arguments, app]


def main() -> None:
    """Replace this process with granian serving the app named on the command line, else the project's."""
    parser = argparse.ArgumentParser(description="Serve the project with granian.")
    parser.add_argument("--interface", choices=list(INTERFACES), default="wsgi")
    parser.add_argument("app", nargs="?", help="module:callable (default: the project's for the interface)")
    options = parser.parse_args()
    interface = INTERFACES[options.interface]
    os.environ.setdefault("GRANIAN_BLOCKING_THREADS", BLOCKING_THREADS)
    arguments = granian_arguments(options.app or APPS[interface], dict(os.environ), interface)
    command = [sys.executable, "-m", "granian", *arguments]
    os.execv(sys.executable, command)  # noqa: S606 - our own interpreter, our own arguments


if __name__ == "__main__":
    main()
