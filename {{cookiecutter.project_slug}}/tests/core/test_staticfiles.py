"""The system checks say when static files are not collected, and name the files."""

import json
from pathlib import Path

import pytest
from django.contrib.staticfiles.finders import get_finders
from pytest_django.fixtures import Settings

from core.plumbing.staticfiles import IGNORE_PATTERNS, static_files_collected


@pytest.fixture
def static_root(settings: Settings, tmp_path: Path) -> Path:
    """Return an empty STATIC_ROOT, served by the production storage."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "core.plumbing.staticfiles.StaticFilesStorage"},
    }
    settings.STATIC_ROOT = tmp_path
    return tmp_path


def write_manifest(static_root: Path, paths: list[str]) -> None:
    """Write a manifest that lists these files as collected."""
    manifest = {"paths": {path: path for path in paths}, "version": "1.1", "hash": "0"}
    (static_root / "staticfiles.json").write_text(json.dumps(manifest))


def found_files() -> list[str]:
    """Return every static file the finders find."""
    return [path for finder in get_finders() for path, _ in finder.list(IGNORE_PATTERNS)]


def test_static_files_check_says_to_run_collectstatic_when_nothing_is_collected(static_root: Path) -> None:
    (message,) = static_files_collected()

    assert message.id == "core.I001"
    assert "collectstatic" in str(message.hint)


def test_static_files_check_warns_of_files_collected_by_no_collectstatic(static_root: Path) -> None:
    # As after a collectstatic run before an app with static files (Silk, say) was installed.
    write_manifest(static_root, [path for path in found_files() if not path.startswith("admin/")])

    (message,) = static_files_collected()

    assert message.id == "core.W001"
    assert "admin/" in message.msg
    assert "collectstatic" in str(message.hint)


def test_static_files_check_is_silent_when_every_file_is_collected(static_root: Path) -> None:
    write_manifest(static_root, found_files())

    assert static_files_collected() == []


def test_static_files_check_ignores_storages_without_a_manifest(settings: Settings) -> None:
    assert static_files_collected() == []
