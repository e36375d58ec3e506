"""Fixtures shared by every test: a clean cache, API clients and users."""

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import UserFactory


def clear_cache() -> None:
    """Empty this test run's cache entries, and only those (a shared Redis may hold others)."""
    delete_pattern = getattr(cache, "delete_pattern", None)
    if delete_pattern is not None:
        delete_pattern("*")
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _isolated_cache() -> Iterator[None]:
    """Start and end every test with an empty cache."""
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def api_client() -> APIClient:
    """Return an anonymous DRF test client."""
    return APIClient()


@pytest.fixture
def user(db: None) -> User:
    """Return a regular user."""
    return UserFactory.create()


@pytest.fixture
def staff_user(db: None) -> User:
    """Return a staff user."""
    return UserFactory.create(is_staff=True)
