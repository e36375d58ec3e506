"""ASGI entry point, for async servers; see the README before choosing one over gunicorn's sync workers."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.production")

application = get_asgi_application()
