"""The landing page links the docs, the schema, the health check and the enabled tools that have a page."""

import pytest
from django.test import Client
from pytest_django.fixtures import Settings


def test_landing_page_links_docs_schema_and_health(client: Client) -> None:
    response = client.get("/")

    assert response.status_code == 200
    for url in ["/api/docs/", "/api/redoc/", "/api/schema/", "/health/"]:
        assert f'href="{url}"' in response.content.decode()


@pytest.mark.urls("core.plumbing.urls")
def test_landing_page_links_each_enabled_tool_page(client: Client, settings: Settings) -> None:
    settings.TOOL_PAGES = [("probe", ("/probe/", "a tool page"))]

    assert 'href="/probe/"' in client.get("/").content.decode()
