"""Public cached hits answered ahead of sessions, CSRF, users and messages, with the same bytes and headers."""

import re
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import Group
from django.http import HttpResponseBase
from django.test import Client, override_settings

from core.toolkit import caching
from tests.core.conftest import CacheSpy

pytestmark = [pytest.mark.urls("tests.core.urls"), pytest.mark.django_db]
MIDDLEWARE = "core.toolkit.middleware.CachedReadMiddleware"


@pytest.fixture
def users_looked_up(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Return the paths of the requests AuthenticationMiddleware saw."""
    seen: list[str] = []
    process_request = AuthenticationMiddleware.process_request

    def record(self: AuthenticationMiddleware, request: Any) -> None:
        seen.append(request.path)
        process_request(self, request)

    monkeypatch.setattr(AuthenticationMiddleware, "process_request", record)
    return seen


def fields(response: HttpResponseBase) -> tuple[int, dict[str, str], bytes]:
    """Return what a client receives: status, headers and body, with Server-Timing's parts but not their durations."""
    headers = dict(response.headers)
    headers["Server-Timing"] = re.sub(r"dur=[0-9.]+", "dur=", headers["Server-Timing"])
    return response.status_code, headers, response.content  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("url", "if_none_match"),
    [("/groups/", None), ("/groups/?ordering=-id&page_size=1", None), ("/groups/999/", None), ("/groups/", "etag")],
)
def test_an_anonymous_hit_is_answered_early_exactly_as_the_view_answers_it(
    users_looked_up: list[str], url: str, if_none_match: str | None
) -> None:
    Group.objects.create(name="editors")
    etag = Client().get(url).headers["ETag"]
    # One request id for both, so it is compared with the rest: a fresh one would differ each time.
    headers = {"X-Request-ID": "same-id", **({"If-None-Match": f'W/{etag}, "other"'} if if_none_match else {})}

    early = fields(Client().get(url, headers=headers))
    with override_settings(MIDDLEWARE=[name for name in settings.MIDDLEWARE if name != MIDDLEWARE]):
        through_the_chain = fields(Client().get(url, headers=headers))

    assert early == through_the_chain
    assert "X-Frame-Options" in early[1]
    assert "Content-Length" in early[1]
    assert users_looked_up == [url.split("?")[0]] * 2  # the first read (a miss) and the one without the middleware


def test_a_public_miss_is_looked_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = CacheSpy()
    monkeypatch.setattr(caching, "cache", spy)
    Group.objects.create(name="editors")
    Client().get("/groups/")
    caching.bump_versions(Group)
    spy.calls.clear()

    assert Client().get("/groups/").status_code == 200

    assert spy.calls.count("get_many") == 1


def test_a_signed_in_client_goes_through_sessions_and_users(users_looked_up: list[str]) -> None:
    Group.objects.create(name="editors")
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = "some-session"
    client.get("/groups/")

    assert client.get("/groups/").status_code == 200

    assert users_looked_up == ["/groups/", "/groups/"]
