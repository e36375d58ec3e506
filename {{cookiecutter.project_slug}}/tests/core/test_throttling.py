"""Anonymous throttling counts in the shared cache, so every worker process enforces the same limit."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle

pytestmark = pytest.mark.urls("tests.core.urls")


def test_anonymous_requests_over_the_rate_get_json_429(api_client: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "2/minute"})

    statuses = [api_client.get("/numbers/").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert "throttled" in api_client.get("/numbers/").json()["detail"].lower()
    assert len(cache.get("throttle_anon_127.0.0.1")) == 2
