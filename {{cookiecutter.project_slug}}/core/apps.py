"""App configuration for core, so its management commands and templates are found."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The core app."""

    name = "core"
    default_auto_field = "django.db.models.BigAutoField"
