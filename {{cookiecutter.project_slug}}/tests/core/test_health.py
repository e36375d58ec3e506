"""The health check reports each backend and answers 503 when one of them is down."""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test import Client, override_settings

from settings.base import cache_settings

pytestmark = pytest.mark.django_db

# Nothing listens on port 1: a Redis there is a real, refused connection.
UNREACHABLE_REDIS_URL = "redis://127.0.0.1:1/0"


def refuse_queries(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    """Fail every query the way a lost database connection does."""
    raise OperationalError("connection refused")


def test_health_reports_database_and_cache_up(client: Client) -> None:
    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "invalidation": "ok"},
    }
    assert "no-cache" in response["Cache-Control"]


def test_health_returns_503_when_the_cache_is_down(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", UNREACHABLE_REDIS_URL)
    with override_settings(CACHES={"default": cache_settings()}):
        response = client.get("/health/")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "cache": "down", "invalidation": "ok"},
    }


def test_health_returns_503_when_the_database_is_down(client: Client) -> None:
    with connection.execute_wrapper(refuse_queries):
        response = client.get("/health/")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "down", "cache": "ok", "invalidation": "unknown"},
    }


def test_health_refuses_writes(client: Client) -> None:
    assert client.post("/health/").status_code == 405
