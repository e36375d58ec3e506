"""Sentry reports errors with the request id and never a secret; without SENTRY_DSN it is not even imported."""

import json
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sentry_sdk
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_exempt
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from core.observability.sentry import init_sentry
from tests.core.test_settings import PRODUCTION_SECRETS, manage

DSN = "https://public-key@sentry.example.com/1"
# Each secret a request or the code may carry; none may appear anywhere in a report.
PASSWORD = "hunter2-pw"
SESSION = "session-9f8e7d6c5b4a"
TOKEN = "abc0123456789token"
QUERY_TOKEN = "query-token-55aa"
CSRF = "csrf-77bb"
PROXY = "proxy-credential-31"
CODE_SECRETS = {"api_key": "code-key-1", "refresh_token": "code-token-2", "db_password": "code-pw-3"}


@csrf_exempt
def leaky_crash(request: HttpRequest) -> HttpResponse:
    """Put secrets where careless code would (a breadcrumb, a context, an extra), then fail."""
    sentry_sdk.add_breadcrumb(category="auth", message="checked", data={"api_key": CODE_SECRETS["api_key"]})
    sentry_sdk.set_context("login", {"user": "someone", "nested": {"refresh_token": CODE_SECRETS["refresh_token"]}})
    sentry_sdk.set_extra("settings", [{"db_password": CODE_SECRETS["db_password"]}])
    raise RuntimeError("boom")


urlpatterns: list[URLPattern] = [path("leaky-crash/", leaky_crash)]
handler500 = "core.plumbing.exceptions.server_error"


class CapturingTransport(Transport):
    """Keep every envelope in memory instead of sending it."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        """Keep the envelope."""
        self.envelopes.append(envelope)


@pytest.fixture(params=["0", "1"], ids=["errors only", "every request traced"])
def reports(request: pytest.FixtureRequest) -> Iterator[CapturingTransport]:
    """Turn Sentry on with a transport that keeps the reports, tracing no request or all; turn it off afterwards."""
    transport = CapturingTransport()
    environ = {
        "SENTRY_DSN": DSN,
        "SENTRY_ENVIRONMENT": "staging",
        "SENTRY_RELEASE": "1.2.3",
        "SENTRY_TRACES_SAMPLE_RATE": request.param,
    }
    with warnings.catch_warnings():
        # sentry-sdk 2.75 deprecates send_default_pii (core/observability/sentry.py says why it is still given).
        warnings.filterwarnings("ignore", "The send_default_pii option is deprecated", DeprecationWarning)
        assert init_sentry(environ, transport=transport)
    try:
        # The server gives each request a scope of its own; the test client does not, so the test does.
        with sentry_sdk.isolation_scope():
            yield transport
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)


def served(request: WSGIRequest) -> tuple[int, dict[str, str]]:
    """Return the status and headers of the request served as a WSGI server serves it (Sentry wraps that handler)."""
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], *args: Any) -> Callable[[bytes], object]:
        started.append((status, headers))
        return lambda data: None

    # As the test client does: the test's database connection must outlive the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        WSGIHandler()(request.environ, start_response).close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    ((status, headers),) = started
    return int(status.split()[0]), dict(headers)


@pytest.mark.urls(__name__)
def test_an_error_report_has_the_exception_and_the_request_id_and_no_secret(reports: CapturingTransport) -> None:
    request = RequestFactory().post(
        f"/leaky-crash/?token={QUERY_TOKEN}&page=2",
        data=json.dumps({"username": "someone", "password": PASSWORD, "profile": {"token": TOKEN}}),
        content_type="application/json",
        headers={
            "Authorization": f"Token {TOKEN}",
            "Cookie": f"sessionid={SESSION}; csrftoken={CSRF}",
            "X-CSRFToken": CSRF,
            "Proxy-Authorization": f"Basic {PROXY}",
        },
    )

    status, headers = served(request)

    assert status == 500
    envelope, *traced = reports.envelopes
    event: Any = envelope.get_event()
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["tags"]["request_id"] == headers["X-Request-ID"]
    assert (event["environment"], event["release"]) == ("staging", "1.2.3")
    assert event["request"]["method"] == "POST"
    assert event["request"]["query_string"] == "token=[Filtered]&page=2"
    assert event["request"]["headers"]["Content-Type"] == "application/json"  # headers are sent, but not those
    transactions = [item.get_transaction_event() for traced_envelope in traced for item in traced_envelope.items]
    assert [transaction["tags"]["request_id"] for transaction in transactions if transaction] == (
        [headers["X-Request-ID"]] if sentry_sdk.get_client().options["traces_sample_rate"] else []
    )
    sent = "".join(sent_envelope.serialize().decode() for sent_envelope in reports.envelopes)
    for secret in [PASSWORD, SESSION, TOKEN, QUERY_TOKEN, CSRF, PROXY, *CODE_SECRETS.values()]:
        assert secret not in sent


def test_without_a_dsn_sentry_is_off() -> None:
    assert init_sentry({}) is False
    assert init_sentry({"SENTRY_DSN": " "}) is False
    assert not sentry_sdk.get_client().is_active()


def test_production_without_a_dsn_never_imports_sentry() -> None:
    show = "import sys; print('sentry_sdk' in sys.modules)"

    result = manage("shell", "-c", show, settings="settings.production", DJANGO_TOOLS="", **PRODUCTION_SECRETS)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_production_with_a_dsn_turns_sentry_on() -> None:
    show = "import sentry_sdk; print(sentry_sdk.get_client().is_active())"

    result = manage("shell", "-c", show, settings="settings.production", SENTRY_DSN=DSN, **PRODUCTION_SECRETS)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"


@pytest.mark.parametrize(
    ("variables", "reason"),
    [
        ({"SENTRY_DSN": "not-a-dsn"}, "SENTRY_DSN is not a Sentry DSN: Unsupported scheme ''"),
        ({"SENTRY_DSN": "https://sentry.example.com/1"}, "SENTRY_DSN is not a Sentry DSN: Missing public key"),
        (
            {"SENTRY_DSN": DSN, "SENTRY_TRACES_SAMPLE_RATE": "1.5"},
            "SENTRY_TRACES_SAMPLE_RATE must be a number from 0 to 1: '1.5'",
        ),
        (
            {"SENTRY_DSN": DSN, "SENTRY_TRACES_SAMPLE_RATE": "nan"},
            "SENTRY_TRACES_SAMPLE_RATE must be a number from 0 to 1: 'nan'",
        ),
        (
            {"SENTRY_DSN": DSN, "SENTRY_TRACES_SAMPLE_RATE": "some"},
            "SENTRY_TRACES_SAMPLE_RATE must be a number from 0 to 1: 'some'",
        ),
    ],
)
def test_a_bad_sentry_setting_stops_start_up_with_one_line(variables: dict[str, str], reason: str) -> None:
    result = manage("check", settings="settings.production", **PRODUCTION_SECRETS, **variables)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [reason]
