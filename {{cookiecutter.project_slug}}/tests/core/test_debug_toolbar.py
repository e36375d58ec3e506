"""The debug toolbar exists in local development only: never in test or production URLs and middleware."""

import json

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
