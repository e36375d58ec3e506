"""The health check: whether the database and the cache answer, for load balancers and monitoring."""

import logging
import secrets

from django.core.cache import caches
from django.db import DatabaseError, connections
from django.http import HttpRequest, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe

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


@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """Return 200 when the database and the cache answer, else 503, with each one's state."""
    checks = {"database": database_answers(), "cache": cache_answers()}
    healthy = all(checks.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        "checks": {name: "ok" if answers else "down" for name, answers in checks.items()},
    }
    response = JsonResponse(body, status=200 if healthy else 503)
    add_never_cache_headers(response)
    return response
