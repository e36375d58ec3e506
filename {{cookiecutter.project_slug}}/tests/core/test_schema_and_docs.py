"""The OpenAPI schema is a valid OpenAPI 3 document and the docs pages load only local assets."""

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.test import Client
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db

ASSET_PATTERN = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def test_schema_endpoint_returns_a_valid_openapi_3_document(client: Client) -> None:
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    validate(document)


def test_schema_endpoint_serves_yaml_by_default(client: Client) -> None:
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert yaml.safe_load(response.content)["info"]["title"]


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_page_renders_with_local_assets_only(client: Client, url: str) -> None:
    response = client.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    assets = ASSET_PATTERN.findall(html)
    assert assets, "the page references no assets at all"
    for asset in assets:
        assert asset.startswith("/static/"), f"{asset} is not served by this project"
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is referenced but not shipped"
    assert "cdn" not in html.lower()
    assert "://" not in "".join(assets)
