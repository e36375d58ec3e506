"""Swagger UI's "Try it out" sends a real request to the example API and shows its response."""

from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from api.factories import ArticleFactory
from tests.browser.docs_pages import Visit, open_swagger_ui

pytestmark = pytest.mark.browser


def test_swagger_ui_try_it_out_on_the_article_list_shows_the_articles_with_a_200(
    visit: Visit, document: dict[str, Any]
) -> None:
    articles = ArticleFactory.create_batch(3)
    page = visit.page
    open_swagger_ui(page, document)
    operation = page.locator(".opblock-get").filter(
        has=page.locator('.opblock-summary-path[data-path="/api/articles/"]')
    )

    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    with page.expect_response(lambda response: urlsplit(response.url).path == "/api/articles/") as sent:
        operation.get_by_role("button", name="Execute").click()
    shown = operation.locator(".live-responses-table .response")
    expect(shown.locator(".response-col_status")).to_have_text("200")
    visit.screenshot("swagger-ui-try-it-out")

    assert sent.value.status == 200
    for article in articles:
        expect(shown.locator(".response-col_description")).to_contain_text(article.title)
