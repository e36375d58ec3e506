"""Fixtures of the core tests: a spy on the cache the toolkit calls."""

from typing import Any

import pytest
from django.core.cache import cache

from core.toolkit import caching


class CacheSpy:
    """Delegate to the real cache, recording the name of every method called and the timeout of every set().

    It has no django-redis ``client``, so the toolkit calls it for each write (the pipelined store on Redis is
    checked in tests/core/test_miss_round_trips.py).
    """

    client = None

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.set_timeouts: list[float] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(cache, name)

    def set(self, key: str, value: Any, timeout: float) -> None:
        self.calls.append("set")
        self.set_timeouts.append(timeout)
        cache.set(key, value, timeout)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> CacheSpy:
    """Return a spy on every cache call the toolkit makes."""
    recorder = CacheSpy()
    monkeypatch.setattr(caching, "cache", recorder)
    return recorder
