"""The operations of the OpenAPI document, and what Swagger UI and Redoc, confined to the live server, show of them."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, Page, Route, expect

# The fixed fields of an OpenAPI 3 Path Item Object that hold an operation.
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
TIMEOUT_MS = 10_000
QUIET_MS = 500


@dataclass(frozen=True)
class Visit:
    """A browser page, and the URL of every request it sent (requests its own CSP blocked are never sent)."""

    page: Page
    requested_urls: list[str]

    def wait_for_quiet_network(self) -> None:
        """Wait until the page has sent no request for QUIET_MS."""
        # Not Playwright's "networkidle": that can come while Redoc still renders, before Redoc asks for more.
        sent = -1
        while sent != len(self.requested_urls):
            sent = len(self.requested_urls)
            self.page.wait_for_timeout(QUIET_MS)

    def screenshot(self, name: str, *, full_page: bool = True) -> Path:
        """Save the page (or only its viewport) as var/artifacts/browser/<name>.png and return its path."""
        path = settings.VAR_DIR / "artifacts" / "browser" / f"{name}.png"
        self.page.screenshot(path=path, full_page=full_page)
        print(f"screenshot: {path}")
        return path


@contextmanager
def confined_visit(browser: Browser, server: str) -> Iterator[Visit]:
    """Yield a visit to the server (an origin) in a new browser context that aborts requests to any other host."""
    visit = Visit(page=browser.new_page(base_url=server), requested_urls=[])

    def confine(route: Route) -> None:
        visit.requested_urls.append(route.request.url)
        if urlsplit(route.request.url).netloc == urlsplit(server).netloc:
            route.continue_()
        else:
            route.abort("blockedbyclient")

    visit.page.set_default_timeout(TIMEOUT_MS)
    visit.page.route("**/*", confine)
    try:
        yield visit
    finally:
        visit.page.context.close()


def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI document the docs pages load."""
    document: dict[str, Any] = Client().get("/api/schema/", {"format": "json"}).json()
    return document


def schema_operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    """Return the (METHOD, path) of every operation in the document."""
    paths: dict[str, dict[str, Any]] = document["paths"]
    return [(method.upper(), path) for path, item in paths.items() for method in item if method in HTTP_METHODS]


def schema_operation_ids(document: dict[str, Any]) -> list[str]:
    """Return the operationId of every operation in the document."""
    paths: dict[str, dict[str, Any]] = document["paths"]
    return [str(item[method]["operationId"]) for item in paths.values() for method in item if method in HTTP_METHODS]


def open_swagger_ui(page: Page, document: dict[str, Any]) -> None:
    """Open Swagger UI and wait until it has rendered the document's title."""
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text(document["info"]["title"])


def swagger_operations(page: Page) -> list[tuple[str, str]]:
    """Return the (METHOD, path) of every operation block Swagger UI shows."""
    blocks: list[list[str]] = page.locator(".opblock").evaluate_all(
        """blocks => blocks.map(block => [
            block.querySelector(".opblock-summary-method").textContent,
            block.querySelector(".opblock-summary-path").dataset.path,
        ])""",
    )
    return [(method, path) for method, path in blocks]


def open_redoc(page: Page, document: dict[str, Any]) -> None:
    """Open Redoc and wait until it has rendered the document's title."""
    page.goto("/api/redoc/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(document["info"]["title"])


def redoc_menu_operation_ids(page: Page) -> list[str]:
    """Return the operationId of every operation in Redoc's side menu."""
    item_ids: list[str] = page.locator('li[data-item-id*="operation/"]').evaluate_all(
        "items => items.map(item => item.dataset.itemId)"
    )
    return [item_id.rpartition("operation/")[2] for item_id in item_ids]


def redoc_section_operation_ids(page: Page) -> list[str]:
    """Return the operationId of every operation section in Redoc's content."""
    section_ids: list[str] = page.locator('[data-section-id^="operation/"]').evaluate_all(
        "sections => sections.map(section => section.dataset.sectionId)"
    )
    return [section_id.removeprefix("operation/") for section_id in section_ids]
