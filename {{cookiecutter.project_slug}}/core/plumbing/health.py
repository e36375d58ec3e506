"""The health check: whether the database and the cache answer, whether invalidations are pending, and the edge.

Load balancers poll it every few seconds, so it also retries the invalidations the cache refused: once the cache
is back they land within one poll even if the process that recorded them is gone.
"""

import logging
import secrets
from typing import Any

from django.core.cache import caches
from django.db import DatabaseError, connections
from django.http import HttpRequest, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe

from core.toolkit import edge
from core.toolkit.caching import land_pending_bumps, pending_bumps

logger = logging.getLogger(__name__)


def database_answers(alias: str = "default") -> bool:
    """Return whether the database answers a trivial query."""
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            return bool(cursor.fetchone() == (1,))
    except DatabaseError:
        logger.exception("Health check: database %r does not answer", alias)
        return False


def cache_answers(alias: str = "default") -> bool:
    """Return whether the cache stores and returns a value.

    A round trip, not a ping: with django-redis ignoring errors, a failed write reads back as a miss.
    """
    cache = caches[alias]
    token = secrets.token_hex(8)
    # A key per probe, so concurrent health checks cannot read each other's token.
    key = f"health:probe:{token}"
    try:
        cache.set(key, token, timeout=10)
        answered = cache.get(key) == token
        cache.delete(key)
        return bool(answered)
    except Exception:
        # Any backend error means the same thing here: this cache cannot be used.
        logger.exception("Health check: cache %r does not answer", alias)
        return False


def invalidations_pending(*, land: bool) -> dict[str, float] | None:
    """Return how many cache invalidations wait and the oldest one's age, None if none; first try to land them."""
    try:
        if land and land_pending_bumps():
            return None
        pending, oldest_seconds = pending_bumps()
    except DatabaseError:
        logger.exception("Health check: pending cache invalidations cannot be read")
        return None
    return {"count": pending, "oldest_seconds": round(oldest_seconds, 1)} if pending else None


@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """Return 200 when the database and the cache answer, else 503, with each one's state (and each edge's).

    While invalidations wait for the cache the status is "degraded", still a 200: every read is answered, and those
    the pending invalidations concern may be stale.
    """
    checks = {"database": database_answers(), "cache": cache_answers()}
    healthy = all(checks.values())
    states = {name: "ok" if answers else "down" for name, answers in checks.items()}
    pending = invalidations_pending(land=checks["cache"]) if checks["database"] else None
    states["invalidation"] = "unknown" if not checks["database"] else "pending" if pending else "ok"
    # Reported, never a 503: without the edge every read is still answered, by the application.
    edges = edge.probe() if edge.configured() else {}
    if edges:
        states["edge"] = "ok" if all(state == "ok" for state in edges.values()) else "degraded"
    degraded = pending or states.get("edge", "ok") != "ok"
    body: dict[str, Any] = {"status": "unavailable" if not healthy else "degraded" if degraded else "ok"}
    body["checks"] = states
    if edges:
        body["edges"] = edges
    if pending:
        body["pending_invalidations"] = pending
    response = JsonResponse(body, status=200 if healthy else 503)
    add_never_cache_headers(response)
    return response
