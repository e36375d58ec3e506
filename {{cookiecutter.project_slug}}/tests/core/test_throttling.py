"""Throttles count per client in the shared cache, trust X-Forwarded-For only as far as the proxies, and keep
counting per process while the cache is down."""

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from pytest_django.fixtures import Settings
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.throttling import AnonRateThrottle as DRFAnonRateThrottle
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from core.plumbing.throttling import AnonRateThrottle, ScopedRateThrottle, throttle_cache

pytestmark = pytest.mark.urls("tests.core.urls")


@pytest.fixture(autouse=True)
def _fresh_fallback() -> Iterator[None]:
    """Start and end every test with no local counts and the shared throttle cache in use."""
    throttle_cache.reset()
    yield
    throttle_cache.reset()


class CommentView(APIView):
    """A view throttled as the example API's comment posting is."""

    throttle_scope = "comments"


def allowed(throttle: SimpleRateThrottle, *, forwarded_for: str = "", remote_addr: str = "203.0.113.7") -> bool:
    """Return whether the throttle lets an anonymous request from the given addresses through."""
    request = APIRequestFactory().post("/", REMOTE_ADDR=remote_addr, HTTP_X_FORWARDED_FOR=forwarded_for)
    return throttle.allow_request(Request(request), CommentView())


def unused_port() -> int:
    """Return a local TCP port on which nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_anonymous_requests_over_the_rate_get_json_429(api_client: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DRFAnonRateThrottle, "THROTTLE_RATES", {"anon": "2/minute"})

    statuses = [api_client.get("/numbers/").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert "throttled" in api_client.get("/numbers/").json()["detail"].lower()
    assert len(cache.get("throttle_anon_127.0.0.1")) == 2


def test_throttle_ignores_a_rotating_x_forwarded_for_without_proxies() -> None:
    # The default settings: DJANGO_NUM_PROXIES=0 and the comment rate of 10 a minute.
    verdicts = [allowed(ScopedRateThrottle(), forwarded_for=f"198.51.100.{number}") for number in range(15)]

    assert verdicts == [True] * 10 + [False] * 5


def test_throttle_behind_one_proxy_takes_the_last_x_forwarded_for_entry(settings: Settings) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client_behind_proxy = "198.51.100.1"

    verdicts = [
        allowed(ScopedRateThrottle(), forwarded_for=f"10.0.0.{number}, {client_behind_proxy}") for number in range(11)
    ]

    assert verdicts == [True] * 10 + [False]
    assert allowed(ScopedRateThrottle(), forwarded_for="10.0.0.1, 198.51.100.2")


def unreachable_redis(port: int, **options: Any) -> dict[str, Any]:
    """Return the settings of a django-redis cache on a port where nothing listens."""
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{port}/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, **options},
    }


def test_throttle_holds_per_process_while_redis_is_unreachable(
    api_client: APIClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(DRFAnonRateThrottle, "THROTTLE_RATES", {"anon": "2/minute"})
    port = unused_port()
    settings.CACHES = {
        "default": unreachable_redis(port, IGNORE_EXCEPTIONS=True),
        "throttle": unreachable_redis(port),
    }

    statuses = [api_client.get("/numbers/").status_code for _ in range(4)]

    assert statuses == [200, 200, 429, 429]
    assert throttle_cache.failed_at is not None


def test_throttle_counts_in_the_shared_cache_again_once_it_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DRFAnonRateThrottle, "THROTTLE_RATES", {"anon": "2/minute"})
    monkeypatch.setattr(throttle_cache, "failed_at", 0.0)  # failed long ago: the next call tries the shared cache

    assert allowed(AnonRateThrottle(), remote_addr="192.0.2.1")

    assert throttle_cache.failed_at is None
    assert len(cache.get("throttle_anon_192.0.2.1")) == 1
