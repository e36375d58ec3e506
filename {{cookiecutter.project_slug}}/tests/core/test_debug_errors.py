"""Local settings (DEBUG) answer a JSON client's errors with production's JSON; a browser keeps the debug pages."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, path

from core.plumbing import urls as root
from settings import local

DEBUG_ERRORS = "core.plumbing.debug_errors.DebugJSONErrorsMiddleware"
# Local's middleware, without the developer tools the test settings do not install (the debug toolbar).
LOCAL_MIDDLEWARE = [name for name in local.MIDDLEWARE if name in settings.MIDDLEWARE or name == DEBUG_ERRORS]
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}


def crash(request: HttpRequest) -> HttpResponse:
    """Raise an unexpected error."""
    raise RuntimeError("boom")


def forbidden(request: HttpRequest) -> HttpResponse:
    """Refuse, as a view checking a permission does."""
    raise PermissionDenied


def refuse_in_words(request: HttpRequest) -> HttpResponse:
    """Answer a 400 of the view's own, in plain text."""
    return HttpResponseBadRequest("Say please.")


# The project's own URLs and error handlers, and two views that fail.
urlpatterns: list[URLPattern | URLResolver] = [
    path("api/crash/", crash),
    path("api/forbidden/", forbidden),
    path("api/refuse/", refuse_in_words),
    *root.urlpatterns,
]
handler400, handler403, handler404, handler500 = root.handler400, root.handler403, root.handler404, root.handler500

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _local_debug() -> Iterator[None]:
    """Run each test with DEBUG on and local's middleware."""
    with override_settings(DEBUG=True, MIDDLEWARE=LOCAL_MIDDLEWARE):
        yield


def get(url: str, accept: str | None, **headers: str) -> Any:
    """Return the response to a GET with this Accept (none when None), exceptions answered as a server answers them."""
    accepts = {"accept": accept} if accept else {}
    return Client(raise_request_exception=False).get(url, headers=accepts | headers)


def test_local_settings_put_the_middleware_right_above_the_cached_reads() -> None:
    position = local.MIDDLEWARE.index(DEBUG_ERRORS)

    assert local.MIDDLEWARE[position + 1] == "core.toolkit.middleware.CachedReadMiddleware"


@pytest.mark.parametrize("accept", ["application/json", "*/*", None, "text/html;q=0.5, application/json"])
def test_an_unknown_api_url_answers_json_to_a_client_that_does_not_prefer_html(accept: str | None) -> None:
    response = get("/api/nope/", accept)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == NOT_FOUND


def test_an_unknown_url_outside_the_api_answers_json_only_to_a_client_that_prefers_it() -> None:
    assert get("/nope/", "application/json").json() == NOT_FOUND
    assert get("/nope/", "*/*")["Content-Type"].startswith("text/html")


def test_a_browser_keeps_the_debug_404_page() -> None:
    response = get("/api/nope/", "text/html,application/xhtml+xml,*/*;q=0.8")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"Using the URLconf" in response.content


def test_an_unhandled_exception_answers_json_naming_it_and_logs_the_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    response = get("/api/crash/", "application/json")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Server error.", "code": "server_error", "exception": "RuntimeError: boom"}
    logged = [record for record in caplog.records if record.name == "django.request" and record.exc_info]
    assert logged
    assert logged[0].exc_info is not None
    assert logged[0].exc_info[0] is RuntimeError


def test_a_browser_keeps_the_debug_500_page() -> None:
    response = get("/api/crash/", "text/html")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert b"RuntimeError" in response.content


def test_a_host_django_refuses_answers_json_400_naming_it() -> None:
    response = get("/api/nope/", "application/json", host="evil.example")

    assert response.status_code == 400
    body = response.json()
    assert (body["detail"], body["code"]) == ("Bad request.", "bad_request")
    assert body["exception"].startswith("DisallowedHost: Invalid HTTP_HOST header: 'evil.example'.")


def test_a_permission_denied_answers_json_403() -> None:
    response = get("/api/forbidden/", "application/json")

    assert response.status_code == 403
    assert response.json() == {
        "detail": "You do not have permission to perform this action.",
        "code": "permission_denied",
    }


def test_a_view_s_own_error_response_is_left_as_it_is() -> None:
    response = get("/api/refuse/", "application/json")

    assert response.status_code == 400
    assert response.content == b"Say please."


def test_without_the_middleware_debug_answers_a_json_client_with_a_debug_page() -> None:
    with override_settings(MIDDLEWARE=[name for name in LOCAL_MIDDLEWARE if name != DEBUG_ERRORS]):
        not_found = get("/api/nope/", "application/json")
        crashed = get("/api/crash/", "application/json")

    assert not_found["Content-Type"].startswith("text/html")
    assert crashed["Content-Type"].startswith("text/plain")
