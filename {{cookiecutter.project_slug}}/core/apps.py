"""App configuration for core, so its management commands, templates and system checks are found."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The core app."""

    name = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the project's system checks, load the Celery app and send refresh-ahead after each landed bump."""
        from core import celery  # noqa: F401
        from core.plumbing import staticfiles  # noqa: F401
        from core.tasks import send_refreshes
        from core.toolkit.caching import versions_bumped

        versions_bumped.connect(send_refreshes, dispatch_uid="core.tasks.send_refreshes")
