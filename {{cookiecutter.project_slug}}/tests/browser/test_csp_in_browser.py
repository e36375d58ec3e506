"""Every page loads under the project's Content-Security-Policy with no violation: docs, admin and landing page.

Chromium reports each blocked script, style, image, eval or connection in the console, and raises a page error for
a refused eval: the tests collect both.
"""

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Error, Page, Response, expect
from pytest_django import DjangoDbBlocker

from tests.browser.docs_pages import Visit, open_redoc, open_swagger_ui

pytestmark = pytest.mark.browser
CSP = "Content Security Policy"


def open_landing(page: Page, document: dict[str, Any]) -> None:
    """Open the landing page and wait until it shows its links."""
    page.goto("/")
    expect(page.get_by_role("link", name="Swagger UI")).to_be_visible()


def open_admin_login(page: Page, document: dict[str, Any]) -> None:
    """Open the admin's sign-in page and wait until it shows its form."""
    page.goto("/admin/login/")
    expect(page.locator("#id_username")).to_be_visible()


@pytest.mark.parametrize("open_page", [open_landing, open_swagger_ui, open_redoc, open_admin_login])
def test_page_loads_with_no_content_security_policy_violation(
    visit: Visit,
    document: dict[str, Any],
    django_db_blocker: DjangoDbBlocker,
    open_page: Callable[[Page, dict[str, Any]], None],
) -> None:
    reports: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if CSP in message.text:
            reports.append(message.text)

    def page_error(error: Error) -> None:
        if CSP in str(error):
            reports.append(str(error))

    def response(answer: Response) -> None:
        if answer.request.resource_type == "document":
            policies.append(answer.headers.get("content-security-policy", ""))

    policies: list[str] = []
    visit.page.on("console", console)
    visit.page.on("pageerror", page_error)
    visit.page.on("response", response)

    with django_db_blocker.unblock():
        open_page(visit.page, document)
        visit.wait_for_quiet_network()

    assert policies, "no page was loaded"
    assert all("default-src 'self'" in policy for policy in policies), policies
    assert reports == []
