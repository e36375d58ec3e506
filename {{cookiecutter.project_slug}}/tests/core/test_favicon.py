"""Browsers get the icon at /favicon.ico, and the pages link its SVG, served hashed by WhiteNoise in production."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from django.test.utils import override_settings
from pytest_django import DjangoAssertNumQueries

ICON_LINK = re.compile(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">')


@pytest.mark.django_db
def test_favicon_ico_answers_the_icon_cacheable_for_a_day_without_a_query_or_a_cookie(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with django_assert_num_queries(0):
        response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert response.content.startswith(b"\x00\x00\x01\x00")  # an ICO file's header
    assert response.content == Path(str(finders.find("core/favicon.ico"))).read_bytes()
    assert set(response["Cache-Control"].split(", ")) == {"public", "max-age=86400"}
    assert "Cookie" not in response.get("Vary", "")
    assert not response.cookies


def test_favicon_ico_refuses_writes(client: Client) -> None:
    assert client.post("/favicon.ico").status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/api/redoc/"])
def test_page_links_the_svg_icon(client: Client, url: str) -> None:
    match = ICON_LINK.search(client.get(url).content.decode())

    assert match is not None
    assert match[1] == "/static/core/favicon.svg"
    assert Path(str(finders.find("core/favicon.svg"))).read_text().startswith("<svg ")


@pytest.mark.django_db
def test_landing_page_icon_is_served_hashed_and_immutable_by_whitenoise_after_collectstatic(tmp_path: Path) -> None:
    # The production settings' storage and middleware (settings/production.py), on this test's own STATIC_ROOT.
    after_security = settings.MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1
    production = {
        "STATIC_ROOT": tmp_path,
        "STORAGES": {**settings.STORAGES, "staticfiles": {"BACKEND": "core.plumbing.staticfiles.StaticFilesStorage"}},
        "MIDDLEWARE": [
            *settings.MIDDLEWARE[:after_security],
            "whitenoise.middleware.WhiteNoiseMiddleware",
            *settings.MIDDLEWARE[after_security:],
        ],
    }
    with override_settings(**production):
        call_command("collectstatic", "--noinput", verbosity=0)
        client = Client()
        match = ICON_LINK.search(client.get("/").content.decode())
        assert match is not None
        icon = client.get(match[1])

    assert re.fullmatch(r"/static/core/favicon\.[0-9a-f]{12}\.svg", match[1])
    assert icon.status_code == 200
    assert icon["Content-Type"].startswith("image/svg+xml")
    assert "immutable" in icon["Cache-Control"]
