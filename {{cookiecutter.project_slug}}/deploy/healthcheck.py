"""The container's health check: exit 0 when the server in this container answers ``GET /health/`` with 200.

The Dockerfile's HEALTHCHECK runs ``python -m deploy.healthcheck``; the response body (the state of the database,
the cache and the edge) is printed, so ``docker inspect`` shows why a container is unhealthy. It asks as the proxy in
front would: with a Host that DJANGO_ALLOWED_HOSTS allows (any other gets a 400) and ``X-Forwarded-Proto: https``
(without it the production settings answer with their redirect to HTTPS).
"""

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping

from deploy.address import bind_address

# Below the HEALTHCHECK's own --timeout, so a hung server is reported here, with its reason.
TIMEOUT_SECONDS = 3.0
# Addresses that listen on every interface: the check connects to loopback instead.
EVERY_INTERFACE = ("", "0.0.0.0", "[::]")  # noqa: S104 - compared with, never bound


def probe_address(environ: Mapping[str, str]) -> str:
    """Return the host:port to reach gunicorn at: where gunicorn.conf.py binds, loopback for every interface."""
    bind = bind_address(environ)
    if bind.startswith("unix:"):
        raise SystemExit(f"GUNICORN_BIND={bind}: the health check reaches the server over TCP only.")
    host, _, port = bind.rpartition(":")
    return f"{'127.0.0.1' if host in EVERY_INTERFACE else host}:{port}"


def probe_host(environ: Mapping[str, str]) -> str:
    """Return a Host header the project accepts: the first of DJANGO_ALLOWED_HOSTS (".example.com": example.com)."""
    first = environ.get("DJANGO_ALLOWED_HOSTS", "").split(",")[0].strip()
    return "localhost" if first in ("", "*") else first.lstrip(".")


def main(environ: Mapping[str, str]) -> int:
    """Return 0 when /health/ answers 200, else 1, having printed its body or the reason it gave none."""
    request = urllib.request.Request(
        f"http://{probe_address(environ)}/health/",
        headers={"Host": probe_host(environ), "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - an http:// URL built above
            print(response.read().decode())
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as error:
        print(f"{error.code}: {error.read().decode(errors='replace')}")
    except OSError as error:
        print(f"/health/ did not answer: {error}")
    return 1


if __name__ == "__main__":
    sys.exit(main(os.environ))
