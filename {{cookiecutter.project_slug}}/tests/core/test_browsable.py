"""Local settings' browsable API shows indented JSON, clickable page links and a login link; the JSON stays as is."""

import importlib
import json
import re
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory
from django.urls import Resolver404, URLPattern, URLResolver, clear_url_caches, path, resolve
from pytest_django.fixtures import Settings
from rest_framework.request import Request
from rest_framework.test import APIClient

from core.toolkit.browsable import absolute_page_links
from core.toolkit.renderers import ORJSONRenderer
from tests.core.test_settings import PRODUCTION_SECRETS, manage
from tests.core.urls import GroupListView

ROOT_URLCONF = "core.plumbing.urls"
pytestmark = pytest.mark.django_db
BROWSER = {"accept": "text/html"}
SHOW_BROWSABLE_WIRING = (
    "import json; from django.conf import settings; from django.urls import NoReverseMatch, reverse\n"
    "try:\n    login = reverse('rest_framework:login')\nexcept NoReverseMatch:\n    login = None\n"
    "print(json.dumps({'login': login, 'renderers': settings.REST_FRAMEWORK['DEFAULT_RENDERER_CLASSES']}))"
)
# Filled by remount_urls(): a keyset-paginated slim view that exists with every generation option, beside the
# project's root URLconf.
urlpatterns: list[URLPattern | URLResolver] = []


def remount_urls() -> None:
    """Rebuild the root URLconf from the current settings, as a starting process would, and serve it with /groups/."""
    root = importlib.reload(importlib.import_module(ROOT_URLCONF))
    urlpatterns[:] = [path("groups/", GroupListView.as_view()), *root.urlpatterns]
    clear_url_caches()


@pytest.fixture
def browsable(settings: Settings) -> Iterator[None]:
    """Turn the browsable API on as local settings do, with DRF's login pages mounted."""
    settings.API_BROWSABLE = True
    remount_urls()
    settings.ROOT_URLCONF = __name__
    yield
    # The next tests get the root URLconf the test settings build.
    settings.API_BROWSABLE = False
    remount_urls()


@pytest.fixture
def groups() -> None:
    """Create three groups: more than a page of one."""
    for name in ("editors", "readers", "writers"):
        Group.objects.create(name=name)


def response_block(html: str) -> str:
    """Return the displayed response of a browsable API page: the status, headers and body of its pre block."""
    match = re.search(r'<div class="response-info"[^>]*>\s*<pre[^>]*>(.*?)</pre>', html, re.DOTALL)
    assert match is not None, html
    return match[1]


@pytest.mark.usefixtures("browsable", "groups")
def test_browsable_page_shows_the_body_indented(client: Client) -> None:
    page = client.get("/groups/", {"page_size": 1}, headers=BROWSER)

    assert page.status_code == 200
    assert page["Content-Type"] == "text/html; charset=utf-8"
    assert "{\n  &quot;next&quot;: " in response_block(page.content.decode())


@pytest.mark.usefixtures("browsable", "groups")
def test_browsable_page_links_the_next_page_with_an_absolute_url(client: Client) -> None:
    page = client.get("/groups/", {"page_size": 1}, headers=BROWSER)

    link = re.search(r'&quot;next&quot;: &quot;<a href="([^"]+)"', response_block(page.content.decode()))
    assert link is not None
    assert link[1].startswith("http://testserver/groups/?")
    assert "cursor=" in link[1]


@pytest.mark.usefixtures("browsable")
def test_browsable_page_has_a_login_link(client: Client) -> None:
    page = client.get("/groups/", headers=BROWSER)

    assert "<a href='/api-auth/login/?next=/groups/'>Log in</a>" in page.content.decode()
    assert client.get("/api-auth/login/").status_code == 200


@pytest.mark.usefixtures("browsable", "groups")
def test_browsable_api_leaves_json_compact_with_relative_links(api_client: APIClient) -> None:
    response = api_client.get("/groups/", {"page_size": 1})

    assert response["Content-Type"] == "application/json"
    assert b"\n" not in response.content
    assert response.json()["next"].startswith("/groups/?")


def test_login_pages_are_not_mounted_without_the_browsable_api(settings: Settings) -> None:
    assert settings.API_BROWSABLE is False
    with pytest.raises(Resolver404):
        resolve("/api-auth/login/")


@pytest.mark.parametrize(
    ("settings_module", "login", "renderer"),
    [
        ("settings.local", "/api-auth/login/", "core.toolkit.browsable.BrowsableAPIRenderer"),
        ("settings.production", None, None),
    ],
)
def test_only_local_settings_mount_the_login_and_the_browsable_renderer(
    settings_module: str, login: str | None, renderer: str | None
) -> None:
    env = PRODUCTION_SECRETS if settings_module == "settings.production" else {}

    result = manage("shell", "-c", SHOW_BROWSABLE_WIRING, settings=settings_module, **env)

    assert result.returncode == 0, result.stderr
    wiring = json.loads(result.stdout.strip().splitlines()[-1])
    assert wiring["login"] == login
    assert wiring["renderers"][1:] == ([renderer] if renderer else [])


def test_renderer_indents_when_the_context_or_the_media_type_asks() -> None:
    data = {"a": [1]}
    indented = b'{\n  "a": [\n    1\n  ]\n}'

    assert ORJSONRenderer().render(data, "text/html", {"indent": 4}) == indented
    assert ORJSONRenderer().render(data, "application/json; indent=4", {}) == indented


@pytest.mark.parametrize(
    "media_type", [None, "application/json", "application/json; indent=0", "application/json; q=1"]
)
def test_renderer_stays_compact_unless_an_indent_is_asked_for(media_type: str | None) -> None:
    assert ORJSONRenderer().render({"a": [1]}, media_type, {"view": None}) == b'{"a":[1]}'


def test_absolute_page_links_change_only_relative_top_level_page_links(rf: RequestFactory) -> None:
    data = {
        "next": "/groups/?cursor=abc",
        "previous": "https://elsewhere.example/groups/?cursor=xyz",
        "results": [{"next": "/nested/", "url": "/groups/1/"}],
    }

    shown = absolute_page_links(data, Request(rf.get("/groups/")))

    assert shown == {
        "next": "http://testserver/groups/?cursor=abc",
        "previous": "https://elsewhere.example/groups/?cursor=xyz",
        "results": [{"next": "/nested/", "url": "/groups/1/"}],
    }
    assert list(shown) == list(data)
