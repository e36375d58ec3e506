"""Silk's pages are for staff only, and it records only /api/ requests."""

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from pytest_django.fixtures import Settings

from core.silk import intercept

pytestmark = pytest.mark.django_db


def test_silk_sends_anonymous_users_to_the_login_page(client: Client) -> None:
    response = client.get("/silk/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_silk_refuses_users_who_are_not_staff(client: Client, user: User) -> None:
    client.force_login(user)

    assert client.get("/silk/").status_code == 403


def test_silk_opens_for_staff(client: Client, staff_user: User) -> None:
    client.force_login(staff_user)

    assert client.get("/silk/").status_code == 200


@pytest.mark.parametrize(("path", "recorded"), [("/api/schema/", True), ("/health/", False), ("/admin/", False)])
def test_silk_records_only_api_requests(settings: Settings, path: str, recorded: bool) -> None:
    settings.SILK_SAMPLE_RATE = 1.0

    assert intercept(RequestFactory().get(path)) is recorded


def test_silk_records_nothing_at_a_zero_sample_rate(settings: Settings) -> None:
    settings.SILK_SAMPLE_RATE = 0.0

    assert not any(intercept(RequestFactory().get("/api/schema/")) for _ in range(100))
