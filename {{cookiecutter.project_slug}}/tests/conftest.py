"""Fixtures shared by every test: a clean cache, the bumps landed, API clients, users, the served OpenAPI document."""

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from core.toolkit.caching import versions_bumped
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
def bumps() -> Iterator[list[frozenset[str]]]:
    """Return the keys of each bump that lands while the test runs, in order."""
    landed: list[frozenset[str]] = []

    def record(sender: Any, keys: frozenset[str], **kwargs: Any) -> None:
        landed.append(keys)

    versions_bumped.connect(record)
    yield landed
    versions_bumped.disconnect(record)


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


@pytest.fixture
def document(client: Client) -> dict[str, Any]:
    """Return the OpenAPI document served with the test's URLs."""
    return served_document(client)


def served_document(client: Client) -> dict[str, Any]:
    """Return the OpenAPI document the client gets from /api/schema/."""
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    served: dict[str, Any] = response.json()
    return served


def required_program(path: str | None, missing: str, flag: str) -> str:
    """Return the program's path; without one, skip the test, or fail it when the environment sets ``flag=1``."""
    if path is not None:
        return path
    if os.environ.get(flag) == "1":
        pytest.fail(f"{missing} ({flag}=1 requires it)")
    pytest.skip(missing)
