"""App configuration for core, so its management commands, templates and system checks are found."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The core app."""

    name = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the project's system checks."""
        from core.plumbing import staticfiles  # noqa: F401
