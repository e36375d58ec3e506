"""The debug toolbar exists in local development only, for INTERNAL_IPS: never in test or production settings."""

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.urls import Resolver404, resolve

from tests.core.test_settings import PRODUCTION_SECRETS, manage

SHOW_WIRING = (
    "import json; from django.conf import settings; from django.urls import get_resolver; "
    "print(json.dumps({'apps': settings.INSTALLED_APPS, 'middleware': settings.MIDDLEWARE, "
    "'urls': [str(p.pattern) for p in get_resolver().url_patterns]}))"
)


def wiring(settings_module: str, **env: str) -> dict[str, list[str]]:
    """Return the apps, middleware and top-level URL patterns that a settings module produces."""
    result = manage("shell", "-c", SHOW_WIRING, settings=settings_module, **env)
    assert result.returncode == 0, result.stderr
    # The last line: Django's shell may first say what it imported.
    loaded: dict[str, list[str]] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_debug_toolbar_is_absent_from_test_settings() -> None:
    assert "debug_toolbar" not in settings.INSTALLED_APPS
    assert not any("debug_toolbar" in middleware for middleware in settings.MIDDLEWARE)
    with pytest.raises(Resolver404):
        resolve("/__debug__/render_panel/")


def test_debug_toolbar_is_absent_from_production() -> None:
    production = wiring("settings.production", **PRODUCTION_SECRETS)

    assert "debug_toolbar" not in production["apps"]
    assert not any("debug_toolbar" in middleware for middleware in production["middleware"])
    assert "__debug__/" not in production["urls"]


def test_debug_toolbar_cannot_be_enabled_in_production() -> None:
    result = manage("check", settings="settings.production", DJANGO_TOOLS="debug_toolbar", **PRODUCTION_SECRETS)

    assert result.returncode != 0
    assert "must not run in production" in result.stderr


def test_debug_toolbar_is_wired_in_local() -> None:
    local = wiring("settings.local")

    assert "debug_toolbar" in local["apps"]
    assert "debug_toolbar.middleware.DebugToolbarMiddleware" in local["middleware"]
    assert "__debug__/" in local["urls"]


def run_in_local(script: str, tmp_path: Path) -> Any:
    """Run a script under the local settings on a fresh SQLite file; return the JSON it prints last."""
    database = f"sqlite:///{tmp_path / 'local.sqlite3'}"
    prelude = "from django.core.management import call_command; call_command('migrate', verbosity=0); "
    result = manage("shell", "-c", prelude + script, settings="settings.local", DATABASE_URL=database)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


ADMIN_PAGE_BY_ADDRESS = """
import json
from django.test import Client
seen = {}
for address in ("127.0.0.1", "203.0.113.9"):
    client = Client(REMOTE_ADDR=address, headers={"host": "localhost"})
    page = client.get("/admin/login/", headers={"accept": "text/html"})
    seen[address] = [page.status_code, 'id="djDebug"' in page.content.decode()]
print(json.dumps(seen))
"""


def test_debug_toolbar_shows_on_local_pages_only_for_internal_ips(tmp_path: Path) -> None:
    shown = run_in_local(ADMIN_PAGE_BY_ADDRESS, tmp_path)

    assert shown == {"127.0.0.1": [200, True], "203.0.113.9": [200, False]}


LANDING_PAGE = """
import json
from django.test import Client
page = Client(REMOTE_ADDR="127.0.0.1", headers={"host": "localhost"}).get("/", headers={"accept": "text/html"})
print(json.dumps(page.content.decode()))
"""


def test_landing_page_in_local_links_the_toolbar_and_shows_it(tmp_path: Path) -> None:
    html = str(run_in_local(LANDING_PAGE, tmp_path))

    assert 'href="/admin/">debug_toolbar</a>' in html
    assert 'id="djDebug"' in html
