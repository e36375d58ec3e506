"""The address the servers listen on: ``HOST`` and ``PORT``, as for ``make run``, unless ``GUNICORN_BIND`` says.

gunicorn.conf.py, deploy/granian_server.py and the Makefile's ``run`` target read the same variables, so
``PORT=9000 make run`` and ``PORT=9000 make serve`` both listen on port 9000.
"""

from collections.abc import Mapping

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
HIGHEST_PORT = 65_535


def port_from(environ: Mapping[str, str]) -> int:
    """Return PORT as a port number, or stop start-up with the reason it is not one."""
    value = environ.get("PORT", "").strip() or str(DEFAULT_PORT)
    if not value.isdigit() or not 0 < int(value) <= HIGHEST_PORT:
        raise SystemExit(f"PORT must be a port number from 1 to {HIGHEST_PORT}: {value!r}")
    return int(value)


def bind_address(environ: Mapping[str, str]) -> str:
    """Return gunicorn's bind: GUNICORN_BIND when set (host:port or unix:/path), else HOST:PORT."""
    if bind := environ.get("GUNICORN_BIND", "").strip():
        return bind
    host = environ.get("HOST", "").strip() or DEFAULT_HOST
    # An IPv6 address is written in brackets before its port.
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port_from(environ)}"
