"""A Redis outage is logged once per interval, with the count of errors held back, and its end once."""

import logging
from collections.abc import Iterator

import pytest
from django.core.signals import request_finished
from django_redis.cache import RedisCache

from core.observability.logging import OutageFilter
from tests.core.test_throttling import unused_port

REDIS_LOGGER = "django_redis.cache"


@pytest.fixture
def outage_filter(settings: object) -> Iterator[OutageFilter]:
    """Return the filter the settings put on django-redis's logger, with no outage in progress."""
    (found,) = [item for item in logging.getLogger(REDIS_LOGGER).filters if isinstance(item, OutageFilter)]
    found.reset()
    yield found
    found.reset()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Return a settable clock that the outage filter reads instead of time.monotonic."""
    now = [1000.0]
    monkeypatch.setattr("core.observability.logging.time.monotonic", lambda: now[0])
    return now


def unreachable_cache() -> RedisCache:
    """Return a django-redis cache on a port where nothing listens, ignoring and logging its errors."""
    return RedisCache(f"redis://127.0.0.1:{unused_port()}/0", {"OPTIONS": {"IGNORE_EXCEPTIONS": True}})


def redis_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Return the records django-redis's logger let through."""
    return [record for record in caplog.records if record.name == REDIS_LOGGER]


def test_redis_outage_logs_its_first_error_with_a_traceback_and_holds_back_the_rest(
    outage_filter: OutageFilter, clock: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    cache = unreachable_cache()

    for _ in range(50):
        assert cache.get("key") is None

    (record,) = redis_records(caplog)
    assert record.exc_info is not None
    assert "outage began" in record.getMessage()


def test_redis_outage_logs_one_line_an_interval_with_the_count_held_back(
    outage_filter: OutageFilter, clock: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    cache = unreachable_cache()
    # An error a second, so the outage goes on (no quiet period) until the interval is over.
    for _ in range(int(outage_filter.interval)):
        cache.get("key")
        clock[0] += 1.0

    cache.get("key")

    _, second = redis_records(caplog)
    assert second.exc_info is None
    assert f"{int(outage_filter.interval) - 1} more errors" in second.getMessage()
    assert "ConnectionError" in second.getMessage()


@pytest.mark.django_db  # request_finished also closes old database connections
def test_redis_outage_end_is_logged_once_after_a_quiet_period(
    outage_filter: OutageFilter, clock: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    unreachable_cache().get("key")
    request_finished.send(sender=None)  # still failing a moment ago: nothing to say
    clock[0] += outage_filter.quiet

    request_finished.send(sender=None)
    request_finished.send(sender=None)

    _, over = redis_records(caplog)
    assert over.getMessage().startswith("Outage over")
