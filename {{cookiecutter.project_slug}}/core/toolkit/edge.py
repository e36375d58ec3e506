"""The edge: a shared HTTP cache (Varnish with deploy/varnish/default.vcl) that keeps public reads until they change.

With ``DJANGO_EDGE_PURGE_URLS`` set, every public cached read carries its surrogate keys (``caching.surrogate_keys``:
the version keys the entry was checked against, without their prefix: ``api.article``, ``api.article:42``,
``api.article#objects``) in the header ``settings.API_EDGE_KEY_HEADER``, and a ``Surrogate-Control`` telling the
edge how long to keep it. Each bump of versions that lands in the cache then purges the same keys at every edge,
after the bump and before the write's response: a read the edge fetches after the purge is built from the new
versions. A purge that fails is
logged, never raised; the edge's TTL bounds what a lost purge can serve. Without an edge nothing is sent.

The purge is Varnish's: ``PURGE /`` with the keys in the key header; an edge answers 200 when it purged, 403 to a
client outside its ACL and 400 to a purge naming no key (which the health page sends to check the edge).
"""

import http.client
import logging
from collections.abc import Collection
from functools import cache
from typing import NamedTuple
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponseBase

logger = logging.getLogger(__name__)

PURGE_METHOD = "PURGE"
# What an edge answers to a purge naming no key when it accepts purges from this host (deploy/varnish/default.vcl).
PROBE_ANSWER = 400


class Edge(NamedTuple):
    """Where to send purges: host and port of one edge."""

    host: str
    port: int

    def __str__(self) -> str:
        """Return host:port."""
        return f"{self.host}:{self.port}"


def configured() -> bool:
    """Return whether an edge is configured (``DJANGO_EDGE_PURGE_URLS``)."""
    return bool(settings.API_EDGE_PURGE_URLS)


def patch_edge_headers(response: HttpResponseBase, keys: Collection[str]) -> None:
    """Let the configured edge keep a public read until one of its keys is purged, at most ``API_EDGE_TTL`` seconds."""
    if not configured():
        return
    response.headers[settings.API_EDGE_KEY_HEADER] = " ".join(keys)
    response.headers["Surrogate-Control"] = _surrogate_control(
        settings.API_EDGE_TTL, settings.API_EDGE_GRACE, settings.API_CACHE_STALE_IF_ERROR
    )


@cache
def _surrogate_control(ttl: int, grace: int, stale_if_error: int) -> str:
    """Return the Surrogate-Control value, built once per configuration."""
    return f"max-age={ttl}, stale-while-revalidate={grace}, stale-if-error={stale_if_error}"


def purge(keys: Collection[str]) -> None:
    """Purge the responses carrying any of these keys at every configured edge; log a failure, never raise it."""
    if not configured() or not keys:
        return
    named = " ".join(sorted(keys))
    for edge in edges():
        try:
            status = _send_purge(edge, {settings.API_EDGE_KEY_HEADER: named})
        except OSError as exc:
            logger.warning("Edge purge failed at %s: %s; its TTL bounds what it can serve", edge, exc)
            continue
        if status != http.HTTPStatus.OK:
            logger.warning("Edge purge refused by %s with %d; its TTL bounds what it can serve", edge, status)


def probe() -> dict[str, str]:
    """Return each edge's state for the health page: ok, refused (its ACL does not list this host) or down."""
    states: dict[str, str] = {}
    for edge in edges():
        try:
            status = _send_purge(edge, {})
        except OSError:
            states[str(edge)] = "down"
            continue
        states[str(edge)] = "ok" if status == PROBE_ANSWER else "refused"
    return states


def _send_purge(edge: Edge, headers: dict[str, str]) -> int:
    """Send one purge and return the edge's status; raise OSError when it does not answer in time."""
    connection = http.client.HTTPConnection(edge.host, edge.port, timeout=settings.API_EDGE_PURGE_TIMEOUT)
    try:
        connection.request(PURGE_METHOD, "/", headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def edges() -> list[Edge]:
    """Return the configured edges."""
    return _parse(tuple(settings.API_EDGE_PURGE_URLS))


@cache
def _parse(urls: tuple[str, ...]) -> list[Edge]:
    """Return the edges of these purge URLs, or raise ImproperlyConfigured naming one that is not http://host:port."""
    return [parse_purge_url(url) for url in urls]


def parse_purge_url(url: str) -> Edge:
    """Return the edge of one purge URL (``http://127.0.0.1:6081``), or raise ImproperlyConfigured saying why not."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port or 80
    except ValueError:
        port = -1
    if parts.scheme != "http" or not parts.hostname or port < 1:
        raise ImproperlyConfigured(
            f"DJANGO_EDGE_PURGE_URLS: {url!r} is not an edge's address; write http://HOST:PORT, such as "
            "http://127.0.0.1:6081, comma-separated for several edges"
        )
    return Edge(parts.hostname, port)
