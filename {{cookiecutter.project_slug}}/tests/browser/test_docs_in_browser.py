"""Swagger UI and Redoc show every operation of the OpenAPI document, with nothing loaded from elsewhere.

Each page is opened once for the module: its tests read what it rendered and what it requested.
"""

from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.docs_pages import (
    Visit,
    redoc_menu_operation_ids,
    redoc_section_operation_ids,
    schema_operation_ids,
    schema_operations,
    swagger_operations,
)

pytestmark = pytest.mark.browser


def outside_requests(visit: Visit) -> list[str]:
    """Return the URLs the visit requested from any host but its page's, after checking the recorder saw the schema."""
    server = urlsplit(visit.page.url).netloc
    assert f"http://{server}/api/schema/" in visit.requested_urls, "the recorder missed the schema request"
    return [url for url in visit.requested_urls if urlsplit(url).netloc != server]


def test_swagger_ui_lists_every_operation_of_the_schema(swagger_ui: Visit, document: dict[str, Any]) -> None:
    operations = schema_operations(document)

    expect(swagger_ui.page.locator(".opblock")).to_have_count(len(operations))
    assert sorted(swagger_operations(swagger_ui.page)) == sorted(operations)


def test_swagger_ui_sends_every_request_to_this_server(swagger_ui: Visit) -> None:
    assert outside_requests(swagger_ui) == []


def test_redoc_lists_every_operation_of_the_schema(redoc: Visit, document: dict[str, Any]) -> None:
    operation_ids = schema_operation_ids(document)

    expect(redoc.page.locator('[data-section-id^="operation/"]')).to_have_count(len(operation_ids))
    assert sorted(redoc_menu_operation_ids(redoc.page)) == sorted(operation_ids)
    assert sorted(redoc_section_operation_ids(redoc.page)) == sorted(operation_ids)


def test_redoc_sends_every_request_to_this_server(redoc: Visit) -> None:
    assert outside_requests(redoc) == []
