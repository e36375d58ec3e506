"""The landing page and the docs show an icon, and send no request that fails (no 404 in the browser's console).

The admin links no icon, so browsers ask for /favicon.ico there; headless Chromium never does, so
tests/core/test_favicon.py checks that answer.
"""

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, Response
from pytest_django import DjangoDbBlocker

from tests.browser.docs_pages import Visit, open_redoc, open_swagger_ui

pytestmark = pytest.mark.browser


def open_landing(page: Page, document: dict[str, Any]) -> None:
    """Open the landing page."""
    page.goto("/")


PAGES: dict[str, Callable[[Page, dict[str, Any]], None]] = {
    "landing": open_landing,
    "swagger-ui": open_swagger_ui,
    "redoc": open_redoc,
}


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_its_icon_and_no_request_fails(
    visit: Visit, document: dict[str, Any], django_db_blocker: DjangoDbBlocker, name: str
) -> None:
    answers: list[Response] = []

    def answered(response: Response) -> None:
        answers.append(response)

    visit.page.on("response", answered)

    with django_db_blocker.unblock():
        PAGES[name](visit.page, document)
        visit.wait_for_quiet_network()

    links = visit.page.locator('link[rel="icon"]')
    assert links.count() == 1
    href = links.get_attribute("href")
    assert href is not None
    icons = [answer for answer in answers if answer.url.endswith(href)]
    assert [(icon.status, icon.headers["content-type"].split("/")[0]) for icon in icons] == [(200, "image")]
    assert [f"{answer.status} {answer.url}" for answer in answers if answer.status >= 400] == []
