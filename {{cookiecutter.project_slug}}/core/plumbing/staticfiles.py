"""Static files in production: hashed and compressed by WhiteNoise, and never a 500 for a file left uncollected.

Django's manifest storage raises on a file missing from the manifest, so a page linking one (Silk's, when Silk was
turned on after the last ``collectstatic``) was a 500. ``StaticFilesStorage`` links such a file by its plain name
instead (a 404 for that file at worst, the page still answers), and the ``core.W001`` check names the files
``collectstatic`` has not collected.
"""

from typing import Any

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.checks import CheckMessage, Info, Tags, Warning, register
from django.core.files.storage import storages
from whitenoise.storage import CompressedManifestStaticFilesStorage

# collectstatic's own default ignore patterns.
IGNORE_PATTERNS = ["CVS", ".*", "*~"]


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's hashed, compressed files; a file missing from the manifest is linked by its plain name."""

    manifest_strict = False

    def stored_name(self, name: str) -> str:
        """Return the hashed name of a collected file, else the name itself."""
        try:
            return str(super().stored_name(name))
        except ValueError:
            # Not collected, not even by an earlier collectstatic: W001 says so at start-up.
            return name


@register(Tags.staticfiles)
def static_files_collected(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Return a warning naming the static files a manifest storage has not collected, if any."""
    # As an object: the stubs' Storage and ManifestFilesMixin have clashing signatures, so mypy sees no overlap.
    storage: object = storages["staticfiles"]
    if not isinstance(storage, ManifestFilesMixin):
        return []
    if storage.read_manifest() is None:
        return [
            Info(
                f"No static files are collected in {settings.STATIC_ROOT} yet.",
                hint="Run `manage.py collectstatic` before serving (`make serve` does).",
                id="core.I001",
            )
        ]
    collected = storage.hashed_files  # the manifest's paths, read when the storage was made
    missing = sorted(
        path
        for finder in get_finders()
        for path, _ in finder.list(IGNORE_PATTERNS)
        if storage.hash_key(path.replace("\\", "/")) not in collected
    )
    if not missing:
        return []
    return [
        Warning(
            f"{len(missing)} static files are not collected ({', '.join(missing[:3])}, ...): pages link them by "
            "their plain names, unhashed and uncompressed, and they are not served.",
            hint="Run `manage.py collectstatic` with the settings and tools you serve with.",
            id="core.W001",
        )
    ]
