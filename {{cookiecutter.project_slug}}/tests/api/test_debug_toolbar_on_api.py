"""In local development the debug toolbar works on the browsable API, and its SQL panel shows the real queries."""

import json

import pytest

from tests.core.test_debug_toolbar import run_in_local

BROWSE_ARTICLES = """
import json, re
from django.test import Client
from api.factories import ArticleFactory
ArticleFactory.create_batch(3)
client = Client(REMOTE_ADDR="127.0.0.1", headers={"host": "localhost"})
page = client.get("/api/articles/", headers={"accept": "text/html"})
html = page.content.decode()
request_id = re.search(r'data-request-id="([^"]+)"', html)[1]
panel = client.get("/__debug__/render_panel/", {"request_id": request_id, "panel_id": "SQLPanel"})
api_call = client.get("/api/articles/", headers={"accept": "application/json"})
print(json.dumps({
    "statuses": [page.status_code, panel.status_code, api_call.status_code],
    "page_type": page["Content-Type"],
    "toolbar": 'id="djDebug"' in html,
    "browsable": "Article List" in html,
    "sql": panel.json()["content"],
    "api_type": api_call["Content-Type"],
    "api_toolbar": b"djDebug" in api_call.content,
    "api_timing": api_call.headers.get("Server-Timing", ""),
}))
"""


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Return what a local server answered to a browser and to an API call for the article list."""
    seen: dict[str, object] = run_in_local(BROWSE_ARTICLES, tmp_path_factory.mktemp("local"))
    return seen


def test_debug_toolbar_sql_panel_shows_the_browsable_api_queries(seen: dict[str, object]) -> None:
    assert seen["statuses"] == [200, 200, 200]
    assert seen["page_type"] == "text/html; charset=utf-8"
    assert seen["toolbar"] is True
    assert seen["browsable"] is True
    assert "api_article" in str(seen["sql"])


def test_debug_toolbar_leaves_api_calls_their_json_and_server_timing(seen: dict[str, object]) -> None:
    assert seen["api_type"] == "application/json"
    assert seen["api_toolbar"] is False
    assert str(seen["api_timing"]).startswith("db;dur="), json.dumps(seen)
