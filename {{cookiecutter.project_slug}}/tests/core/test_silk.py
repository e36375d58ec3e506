"""Silk's pages are for staff only; it records a sample of /api/ requests, capped, and none of their secrets."""

import base64
import contextlib
import io
import json
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import call_command
from django.http import HttpRequest, JsonResponse
from django.test import Client, RequestFactory
from django.urls import path
from pytest_django.fixtures import Settings
from rest_framework.authtoken.models import Token
from silk.collector import DataCollector
from silk.config import SilkyConfig
from silk.middleware import SilkyMiddleware
from silk.models import Request as SilkRequest
from silk.models import Response as SilkResponse
from silk.models import SQLQuery

from core.observability import silk
from core.observability.silk import MASK, MAX_JSON_DEPTH, intercept
from tests.core.test_settings import PRODUCTION_SECRETS, manage
from tests.core.urls import ISSUED_SECRET

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


def test_silk_records_at_most_its_budget_a_minute_in_each_process(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.SILK_SAMPLE_RATE = 1.0
    settings.SILK_MAX_PER_MINUTE = 3
    monkeypatch.setattr(silk, "budget", silk.MinuteBudget())
    clock = [600.0]
    monkeypatch.setattr("core.observability.silk.time.monotonic", lambda: clock[0])

    first_minute = [intercept(RequestFactory().get("/api/schema/")) for _ in range(5)]
    clock[0] += 60
    next_minute = [intercept(RequestFactory().get("/api/schema/")) for _ in range(2)]

    assert first_minute == [True, True, True, False, False]
    assert next_minute == [True, True]


def test_silk_without_a_budget_records_every_sampled_request(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.SILK_SAMPLE_RATE = 1.0
    settings.SILK_MAX_PER_MINUTE = None
    monkeypatch.setattr(silk, "budget", silk.MinuteBudget())

    assert all(intercept(RequestFactory().get("/api/schema/")) for _ in range(200))


def test_silk_middleware_is_not_entered_by_a_request_it_does_not_record(
    client: Client, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.SILK_SAMPLE_RATE = 0.0
    entered: list[HttpRequest] = []
    monkeypatch.setattr(SilkyMiddleware, "process_request", entered.append)

    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert entered == []
    assert not SilkRequest.objects.exists()


def test_silk_records_a_sampled_request_through_its_own_middleware(client: Client, settings: Settings) -> None:
    settings.SILK_SAMPLE_RATE = 1.0

    client.get("/api/schema/?format=json")

    assert list(SilkRequest.objects.values_list("path", flat=True)) == ["/api/schema/"]
    assert DataCollector().request is None  # reset once the recording is saved


def test_silk_leaves_the_queries_of_requests_it_does_not_record_alone(
    client: Client, settings: Settings, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.SILK_SAMPLE_RATE = 1.0
    client.force_login(user)
    client.get("/api/schema/?format=json")  # a recording: Silk's query recorder is installed from now on
    looked_at: list[str] = []

    def should_wrap(sql: str) -> bool:
        looked_at.append(sql)
        return False

    monkeypatch.setattr("silk.sql._should_wrap", should_wrap)
    settings.SILK_SAMPLE_RATE = 0.0

    client.get("/api/schema/?format=json")  # the session and user lookups run, unrecorded
    User.objects.count()

    assert looked_at == []
    assert SilkRequest.objects.count() == 1


TOKEN_KEY = "0123456789abcdef0123456789abcdef01234567"
PASSWORD = "correct-horse-battery-staple-42"
QUERY_TOKEN = "query-string-token-5f2b9c0e"


def silk_texts() -> list[str]:
    """Return every value of every row of every Silk table as text, base64 values decoded as well."""
    texts = []
    for model in apps.get_app_config("silk").get_models():
        for row in model._default_manager.values_list():
            for value in row:
                text = str(value)
                texts.append(text)
                with contextlib.suppress(ValueError):
                    texts.append(base64.b64decode(text, validate=True).decode("utf-8", errors="replace"))
    return texts


def test_silk_records_no_token_password_cookie_or_query_string_secret(
    client: Client, settings: Settings, user: User
) -> None:
    settings.SILK_SAMPLE_RATE = 1.0
    Token.objects.create(user=user, key=TOKEN_KEY)
    client.force_login(user)
    session = client.cookies["sessionid"].value
    headers = {"authorization": f"Token {TOKEN_KEY}"}

    client.get(f"/api/schema/?token={QUERY_TOKEN}&format=json")  # signed in by the session cookie
    client.post(
        f"/api/schema/?access_token={QUERY_TOKEN}",
        {"username": user.username, "password": PASSWORD, "nested": {"api_key": QUERY_TOKEN}},
        content_type="application/json",
        headers=headers,
    )

    assert SilkRequest.objects.count() == 2
    # The user lookup is recorded; the session and token lookups, which hold secrets, are not.
    assert SQLQuery.objects.filter(query__contains="auth_user").exists()
    texts = silk_texts()
    for secret in (TOKEN_KEY, PASSWORD, QUERY_TOKEN, session):
        assert not [text for text in texts if secret in text], f"{secret} is stored by Silk"
    assert any(MASK in text for text in texts)


@pytest.mark.urls("tests.core.urls")
def test_silk_masks_cookies_and_tokens_a_response_gives_out(client: Client, settings: Settings) -> None:
    settings.SILK_SAMPLE_RATE = 1.0

    client.post("/api/sign-in/")

    assert SilkResponse.objects.count() == 1
    assert not [text for text in silk_texts() if ISSUED_SECRET in text]
    assert json.loads(SilkResponse.objects.get().body)["user"] == "someone"


def test_silk_keeps_at_most_the_configured_number_of_requests(
    client: Client, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.SILK_SAMPLE_RATE = 1.0
    config = SilkyConfig()
    monkeypatch.setitem(config.attrs, "SILKY_MAX_RECORDED_REQUESTS", 5)
    monkeypatch.setitem(config.attrs, "SILKY_MAX_RECORDED_REQUESTS_CHECK_PERCENT", 100)

    for number in range(12):
        client.get(f"/api/unknown-{number}/")

    assert 1 <= SilkRequest.objects.count() <= 5
    assert SilkRequest.objects.filter(path="/api/unknown-11/").exists()


def test_silk_trim_command_keeps_only_the_newest_requests(client: Client, settings: Settings) -> None:
    settings.SILK_SAMPLE_RATE = 1.0
    for number in range(6):
        client.get(f"/api/unknown-{number}/")

    call_command("silk_trim", keep=2, stdout=io.StringIO())

    assert set(SilkRequest.objects.values_list("path", flat=True)) == {"/api/unknown-4/", "/api/unknown-5/"}


SHOW_SILK = (
    "import json; from django.conf import settings; print(json.dumps(['silk' in settings.INSTALLED_APPS, "
    "getattr(settings, 'SILK_SAMPLE_RATE', None), getattr(settings, 'SILK_MAX_PER_MINUTE', None)]))"
)


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, [False, None, None]),
        ({"DJANGO_TOOLS": "silk"}, [True, 0.01, 60]),
        ({"DJANGO_TOOLS": "silk", "DJANGO_SILK_SAMPLE_RATE": "0.05"}, [True, 0.05, 60]),
        ({"DJANGO_TOOLS": "silk", "DJANGO_SILK_MAX_PER_MINUTE": "5"}, [True, 0.01, 5]),
        ({"DJANGO_TOOLS": "silk", "DJANGO_SILK_MAX_PER_MINUTE": ""}, [True, 0.01, None]),
    ],
)
def test_silk_in_production_is_off_unless_enabled_and_then_samples(
    variables: dict[str, str], expected: list[object]
) -> None:
    result = manage("shell", "-c", SHOW_SILK, settings="settings.production", **PRODUCTION_SECRETS, **variables)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected


def test_a_silk_budget_that_is_not_a_number_stops_start_up_saying_what_to_type() -> None:
    variables = {"DJANGO_TOOLS": "silk", "DJANGO_SILK_MAX_PER_MINUTE": "lots"}

    result = manage("check", settings="settings.production", **PRODUCTION_SECRETS, **variables)

    assert result.returncode != 0
    assert "DJANGO_SILK_MAX_PER_MINUTE must be a whole number, or empty for none: 'lots'" in result.stderr


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_500, 100_000])
def test_silk_skips_a_json_body_nested_too_deep_instead_of_failing(
    client: Client, settings: Settings, depth: int
) -> None:
    settings.SILK_SAMPLE_RATE = 1.0
    body = "[" * depth + "]" * depth

    response = client.post("/api/schema/", body, content_type="application/json")

    assert response.status_code == 405
    assert not SilkRequest.objects.exists()


def test_silk_records_a_json_body_nested_within_the_bound(client: Client, settings: Settings) -> None:
    settings.SILK_SAMPLE_RATE = 1.0
    body: object = {"password": PASSWORD}
    for _ in range(MAX_JSON_DEPTH - 1):
        body = [body]

    client.post("/api/schema/", body, content_type="application/json")

    assert SilkRequest.objects.count() == 1
    assert not [text for text in silk_texts() if PASSWORD in text]


API_KEY = "api-key-value-7c1e9a3f"
AUTH_TOKEN = "auth-token-value-2b8d4f6a"


def test_silk_masks_every_sensitive_looking_header(client: Client, settings: Settings) -> None:
    settings.SILK_SAMPLE_RATE = 1.0

    client.get("/api/schema/", headers={"X-Api-Key": API_KEY, "X-Auth-Token": AUTH_TOKEN, "X-Request-Id": "r-1234"})

    headers = json.loads(SilkRequest.objects.get().encoded_headers)
    assert headers["x-api-key"] == MASK
    assert headers["x-auth-token"] == MASK
    assert headers["x-request-id"] == "r-1234"
    for secret in (API_KEY, AUTH_TOKEN):
        assert not [text for text in silk_texts() if secret in text], f"{secret} is stored by Silk"


def upstream_answer(request: HttpRequest) -> JsonResponse:
    """Answer with a signature header, as a view passing on an upstream service's response might."""
    return JsonResponse({"ok": True}, headers={"X-Upstream-Signature": UPSTREAM_SIGNATURE})


UPSTREAM_SIGNATURE = "upstream-signature-4e0b7d2c"
urlpatterns = [path("api/upstream/", upstream_answer)]


@pytest.mark.urls(__name__)
def test_silk_masks_sensitive_response_headers(client: Client, settings: Settings) -> None:
    settings.SILK_SAMPLE_RATE = 1.0

    client.get("/api/upstream/")

    headers = json.loads(SilkResponse.objects.get().encoded_headers)
    assert headers["X-Upstream-Signature"] == MASK
    assert headers["Content-Type"] == "application/json"
    assert not [text for text in silk_texts() if UPSTREAM_SIGNATURE in text]


def test_silk_page_answers_in_production_before_collectstatic(
    client: Client, settings: Settings, staff_user: User, tmp_path: Path
) -> None:
    production = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.STORAGES['staticfiles']['BACKEND'])",
        settings="settings.production",
        **PRODUCTION_SECRETS,
    )
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": production.stdout.strip().splitlines()[-1]}}
    settings.STATIC_ROOT = tmp_path  # nothing collected
    client.force_login(staff_user)

    response = client.get("/silk/")

    assert response.status_code == 200
    assert 'href="/static/silk/' in response.content.decode()


def test_silk_pages_may_run_their_inline_handlers_and_the_api_may_not(client: Client, staff_user: User) -> None:
    client.force_login(staff_user)

    silk = client.get("/silk/")["Content-Security-Policy"]
    api = client.get("/api/schema/")["Content-Security-Policy"]

    assert "script-src 'self' 'unsafe-inline' 'unsafe-eval';" in silk
    assert "script-src 'self';" in api
