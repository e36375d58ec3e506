"""Each environment's settings load, and production refuses to start without its secrets."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
PRODUCTION_SECRETS = {
    "DJANGO_SECRET_KEY": "x" * 20 + "production-only-secret-key-0123456789abcdefghij",
    "DJANGO_ALLOWED_HOSTS": "api.example.com",
}


def manage(*args: str, settings: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run manage.py in a fresh process with only the given settings and variables (and no .env)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    environment |= {"DJANGO_SETTINGS_MODULE": settings, "DJANGO_READ_DOT_ENV_FILE": "false", **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT, env=environment, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("settings", ["settings.local", "settings.test"])
def test_settings_load_and_pass_system_checks(settings: str) -> None:
    result = manage("check", "--fail-level", "WARNING", settings=settings)

    assert result.returncode == 0, result.stderr


def test_production_settings_pass_the_deployment_checks_with_only_the_required_environment() -> None:
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", settings="settings.production", **PRODUCTION_SECRETS
    )

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"])
def test_production_settings_refuse_to_start_without_a_secret(missing: str) -> None:
    env = {name: value for name, value in PRODUCTION_SECRETS.items() if name != missing}

    result = manage("check", settings="settings.production", **env)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"Production settings need {missing} in the environment (see .env.example)."
    ]


def test_production_settings_refuse_an_unknown_tool() -> None:
    result = manage("check", settings="settings.production", DJANGO_TOOLS="nope", **PRODUCTION_SECRETS)

    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert "'nope'" in result.stderr


@pytest.mark.parametrize("settings", ["settings.production", "settings.bench"])
def test_drf_reads_the_project_rest_framework_settings_even_from_a_module_importing_production(settings: str) -> None:
    # A settings module that imports production's (the benchmark's, a team's staging) is still empty while production
    # loads the tools: DRF must not read its settings then, or it keeps its own defaults for good.
    show = "from rest_framework.settings import api_settings; print(api_settings.DEFAULT_SCHEMA_CLASS.__module__)"

    result = manage("shell", "-c", show, settings=settings, DJANGO_TOOLS="", **PRODUCTION_SECRETS)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "core.toolkit.schema"


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_local_cache_switch_that_is_neither_on_nor_off_stops_start_up(value: str) -> None:
    result = manage("check", settings="settings.test", DJANGO_API_LOCAL_CACHE=value)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [f"DJANGO_API_LOCAL_CACHE must be on or off: {value!r}"]


def test_the_local_cache_layer_without_redis_stops_start_up() -> None:
    result = manage("check", settings="settings.test", DJANGO_API_LOCAL_CACHE="on", REDIS_URL="")

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "DJANGO_API_LOCAL_CACHE=on needs REDIS_URL: its invalidations arrive by Redis pub/sub."
    ]
