"""Errors are JSON everywhere: unknown URLs, unhandled exceptions and bad input to API views."""

import pytest
from django.test import Client
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

pytestmark = pytest.mark.urls("tests.core.urls")


def test_unknown_url_returns_json_404(client: Client) -> None:
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_unhandled_exception_returns_json_500(client: Client) -> None:
    client.raise_request_exception = False

    response = client.get("/crash/")

    assert response.status_code == 500
    assert response.json() == {"detail": "Server error.", "code": "server_error"}


def test_django_validation_error_in_an_api_view_returns_json_400(api_client: APIClient) -> None:
    response = api_client.get("/django-validation-error/")

    assert response.status_code == 400
    assert response.json() == ["Bad value."]


def test_malformed_json_returns_json_400(api_client: APIClient) -> None:
    response = api_client.post("/echo/", data=b'{"a": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


def test_body_above_the_size_limit_returns_json_413(api_client: APIClient, settings: Settings) -> None:
    payload = b'{"a": "' + b"x" * 100 + b'"}'
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(payload) - 1

    response = api_client.post("/echo/", data=payload, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large.", "code": "request_too_large"}


def test_body_exactly_at_the_size_limit_is_accepted(api_client: APIClient, settings: Settings) -> None:
    payload = b'{"a": "' + b"x" * 100 + b'"}'
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(payload)

    response = api_client.post("/echo/", data=payload, content_type="application/json")

    assert response.status_code == 200
    assert response.json() == {"received": {"a": "x" * 100}}
