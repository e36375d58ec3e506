"""The overview's upstream: one GET of a JSON object over HTTP, bounded in time and size, whose failure is an answer.

``DJANGO_API_UPSTREAM_URL`` names it; unset, nothing is called and the answer says it is not configured. Every way
the upstream can fail becomes an answer marked unavailable, with its reason, never an exception (so never a 500):

- ``timeout``: no complete answer within ``API_UPSTREAM_TIMEOUT`` seconds, connecting included;
- ``unreachable``: refused, reset, or any other transport error;
- ``bad status``: any status but 200 (redirects are not followed);
- ``too large``: a body over ``API_UPSTREAM_MAX_BYTES`` bytes (read no further than that);
- ``not a JSON object``: a body that is not one.

``upstream_status`` is the async fetch the overview awaits; ``upstream_status_sync`` the same with a blocking client
(for the benchmark's sequential twin), whose bound is looser: each connect and read within the timeout, and no chunk
taken once it has passed, so at worst about twice the timeout.
"""

import asyncio
import time
from collections.abc import Iterable
from functools import cache
from ssl import SSLContext
from typing import Any

import httpx
import orjson
from django.conf import settings

NOT_CONFIGURED = "not configured"
TIMEOUT = "timeout"
UNREACHABLE = "unreachable"
BAD_STATUS = "bad status"
TOO_LARGE = "too large"
NOT_JSON = "not a JSON object"
REASONS = (NOT_CONFIGURED, TIMEOUT, UNREACHABLE, BAD_STATUS, TOO_LARGE, NOT_JSON)
# Raw bytes only: the size bound counts what arrives, and a compressed body could inflate far past it.
HEADERS = {"Accept": "application/json", "Accept-Encoding": "identity"}


class UnavailableError(Exception):
    """The upstream gave no usable answer, for the reason given."""


@cache
def _ssl_context() -> SSLContext:
    """Return the TLS context for https upstreams, built once: building one costs more than a loopback request."""
    return httpx.create_ssl_context()


def _client_options() -> dict[str, Any]:
    """Return the options of an httpx client for one upstream call."""
    return {"timeout": settings.API_UPSTREAM_TIMEOUT, "verify": _ssl_context(), "follow_redirects": False}


def unavailable(reason: str) -> dict[str, Any]:
    """Return the answer of an upstream that gave nothing usable."""
    return {"available": False, "reason": reason, "content": None}


def _available(body: bytes) -> dict[str, Any]:
    """Return the answer of an upstream that sent body, or raise UnavailableError unless it is a JSON object."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise UnavailableError(NOT_JSON) from None
    if not isinstance(data, dict):
        raise UnavailableError(NOT_JSON)
    return {"available": True, "reason": None, "content": data}


def _check_status(response: httpx.Response) -> None:
    """Raise UnavailableError unless the upstream answered 200."""
    if response.status_code != httpx.codes.OK:
        raise UnavailableError(BAD_STATUS)


def _add_chunk(body: bytearray, chunk: bytes) -> None:
    """Append chunk to body, or raise UnavailableError once body would pass the size bound."""
    body += chunk
    if len(body) > settings.API_UPSTREAM_MAX_BYTES:
        raise UnavailableError(TOO_LARGE)


async def upstream_status() -> dict[str, Any]:
    """Return the upstream's JSON object, or why it is unavailable."""
    if not settings.API_UPSTREAM_URL:
        return unavailable(NOT_CONFIGURED)
    body = bytearray()
    try:
        # httpx's timeout bounds each read; this one the whole exchange, against an upstream sending a byte a second.
        async with (
            asyncio.timeout(settings.API_UPSTREAM_TIMEOUT),
            httpx.AsyncClient(**_client_options()) as client,
            client.stream("GET", settings.API_UPSTREAM_URL, headers=HEADERS) as response,
        ):
            _check_status(response)
            async for chunk in response.aiter_raw():
                _add_chunk(body, chunk)
        return _available(bytes(body))
    except UnavailableError as exc:
        return unavailable(str(exc))
    except (TimeoutError, httpx.TimeoutException):
        return unavailable(TIMEOUT)
    except httpx.HTTPError:
        return unavailable(UNREACHABLE)


def upstream_status_sync() -> dict[str, Any]:
    """Return what ``upstream_status`` returns, blocking: the overview's sequential twin (tests/perf/) calls it."""
    if not settings.API_UPSTREAM_URL:
        return unavailable(NOT_CONFIGURED)
    body = bytearray()
    deadline = time.monotonic() + settings.API_UPSTREAM_TIMEOUT
    try:
        with (
            httpx.Client(**_client_options()) as client,
            client.stream("GET", settings.API_UPSTREAM_URL, headers=HEADERS) as response,
        ):
            _check_status(response)
            for chunk in _until(deadline, response.iter_raw()):
                _add_chunk(body, chunk)
        return _available(bytes(body))
    except UnavailableError as exc:
        return unavailable(str(exc))
    except httpx.TimeoutException:
        return unavailable(TIMEOUT)
    except httpx.HTTPError:
        return unavailable(UNREACHABLE)


def _until(deadline: float, chunks: Iterable[bytes]) -> Iterable[bytes]:
    """Yield the chunks, raising UnavailableError past the deadline (a blocking read has no overall timeout)."""
    for chunk in chunks:
        if time.monotonic() > deadline:
            raise UnavailableError(TIMEOUT)
        yield chunk
