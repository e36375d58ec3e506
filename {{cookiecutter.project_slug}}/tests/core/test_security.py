"""Every response carries a strict Content-Security-Policy and a Permissions-Policy, the JSON ones included."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import Settings

from core.plumbing.security import merge_policies, parse_policy

pytestmark = pytest.mark.django_db

STRICT = ("default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'self'", "script-src 'self';")


def directives(header: str) -> dict[str, list[str]]:
    """Return a policy header's sources by directive."""
    return parse_policy(header)


@pytest.mark.parametrize("url", ["/", "/health/", "/api/schema/", "/api/docs/", "/api/redoc/", "/admin/login/"])
def test_every_page_gets_a_strict_content_security_policy(client: Client, url: str) -> None:
    response = client.get(url)

    policy = response["Content-Security-Policy"]
    for directive in STRICT:
        assert directive in f"{policy};", f"{url}: {directive} missing from {policy}"
    assert "unsafe-eval" not in policy
    assert "http" not in policy  # no CDN, no other origin
    assert "camera=()" in response["Permissions-Policy"]


def test_admin_pages_get_the_policies_when_signed_in(client: Client, staff_user: User) -> None:
    client.force_login(staff_user)

    response = client.get("/admin/")

    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["Permissions-Policy"]


def test_unknown_url_json_404_gets_the_policies(client: Client) -> None:
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert directives(response["Content-Security-Policy"])["default-src"] == ["'self'"]


def test_csp_report_only_sends_the_policy_without_enforcing_it(client: Client, settings: Settings) -> None:
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = True

    response = client.get("/")

    assert "Content-Security-Policy" not in response
    assert "default-src 'self'" in response["Content-Security-Policy-Report-Only"]


def test_csp_extra_sources_are_added_to_their_directives(client: Client, settings: Settings) -> None:
    settings.CONTENT_SECURITY_POLICY_EXTRA = "img-src https://images.example.com; report-uri /csp-reports/"

    policy = directives(client.get("/")["Content-Security-Policy"])

    assert policy["img-src"] == ["'self'", "data:", "https://images.example.com"]
    assert policy["report-uri"] == ["/csp-reports/"]
    assert policy["script-src"] == ["'self'"]


def test_csp_path_sources_apply_under_their_prefix_only(client: Client, settings: Settings) -> None:
    settings.CONTENT_SECURITY_POLICY_PATHS = {"/admin/": {"script-src": ["'unsafe-inline'"]}}

    admin = directives(client.get("/admin/login/")["Content-Security-Policy"])
    landing = directives(client.get("/")["Content-Security-Policy"])

    assert admin["script-src"] == ["'self'", "'unsafe-inline'"]
    assert landing["script-src"] == ["'self'"]


def test_merge_policies_keeps_each_source_once_in_order() -> None:
    merged = merge_policies({"img-src": ["'self'"]}, {"img-src": ["data:", "'self'"], "font-src": ["'self'"]})

    assert merged == {"img-src": ["'self'", "data:"], "font-src": ["'self'"]}
