"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, on pages confined to the live server.

Playwright drives the Chromium found on the machine (``CHROMIUM``, else ``chromium`` on the PATH); it never
downloads one. Without Chromium the tests skip, unless ``REQUIRE_BROWSER=1`` makes that a failure (as in CI).
"""

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.test.utils import modify_settings
from playwright.sync_api import Browser, Page, sync_playwright
from pytest_django import DjangoDbBlocker
from pytest_django.live_server_helper import LiveServer

from tests.browser.docs_pages import Visit, confined_visit, open_redoc, open_swagger_ui, openapi_document
from tests.conftest import required_program

# The docs are served under a name that is neither localhost nor 127.0.0.1, as in production: Swagger UI treats
# those two specially (it shows its online validator badge only for other hosts). .test is reserved by RFC 2606.
DOCS_HOST = "docs.test"
INSTALL_HINT = "install it with `apt-get install chromium`, or set CHROMIUM to its path"


def chromium_executable() -> str | None:
    """Return the path of the Chromium to drive, or None when there is none."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    return path if path and Path(path).is_file() else None


@pytest.fixture(scope="session")
def chromium() -> str:
    """Return the Chromium executable; skip without one, or fail when REQUIRE_BROWSER=1."""
    return required_program(chromium_executable(), f"Chromium not found: {INSTALL_HINT}", "REQUIRE_BROWSER")


@pytest.fixture(scope="package")
def browser(chromium: str) -> Iterator[Browser]:
    """Return headless Chromium, which resolves DOCS_HOST to this machine, for the tests of this package."""
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # Playwright's sync API marks an event loop as running in this thread while it lives, though no
        # coroutine ever runs beside the ORM: Django's async-safety check would refuse every query.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        launched = playwright.chromium.launch(
            executable_path=chromium, args=[f"--host-resolver-rules=MAP {DOCS_HOST} 127.0.0.1"]
        )
        yield launched
        launched.close()


@pytest.fixture(scope="package")
def server(live_server: LiveServer) -> Iterator[str]:
    """Return the live server's origin as DOCS_HOST, a host Django accepts for the tests of this package."""
    with modify_settings(ALLOWED_HOSTS={"append": DOCS_HOST}):
        yield f"http://{DOCS_HOST}:{live_server.thread.port}"


@pytest.fixture(scope="package")
def document() -> dict[str, Any]:
    """Return the OpenAPI document, generated once for the tests of this package."""
    return openapi_document()


@pytest.fixture
def visit(browser: Browser, server: str) -> Iterator[Visit]:
    """Return a blank page confined to the live server, for one test."""
    with confined_visit(browser, server) as blank:
        yield blank


@contextmanager
def opened_docs(
    visit: Visit, blocker: DjangoDbBlocker, open_page: Callable[[Page, dict[str, Any]], None], document: dict[str, Any]
) -> Iterator[Visit]:
    """Yield the visit once its docs page has rendered the document and gone quiet."""
    # Opened before any test's database fixture, yet the live server checks its connections on each request.
    with blocker.unblock():
        open_page(visit.page, document)
        visit.wait_for_quiet_network()
    yield visit


@pytest.fixture(scope="module")
def swagger_ui(
    browser: Browser, server: str, document: dict[str, Any], django_db_blocker: DjangoDbBlocker
) -> Iterator[Visit]:
    """Return Swagger UI with the document rendered, opened once for the module's tests."""
    with confined_visit(browser, server) as blank, opened_docs(blank, django_db_blocker, open_swagger_ui, document):
        blank.screenshot("swagger-ui")
        yield blank


@pytest.fixture(scope="module")
def redoc(
    browser: Browser, server: str, document: dict[str, Any], django_db_blocker: DjangoDbBlocker
) -> Iterator[Visit]:
    """Return Redoc with the document rendered, opened once for the module's tests."""
    with confined_visit(browser, server) as blank, opened_docs(blank, django_db_blocker, open_redoc, document):
        # Only the viewport: Redoc lays every operation out on one page, many screens long.
        blank.screenshot("redoc", full_page=False)
        yield blank
