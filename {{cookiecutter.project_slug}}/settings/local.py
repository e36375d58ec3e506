"""Local development: DEBUG, the browsable API and every chosen developer tool; reads .env."""

from .base import *
from .tools import install_tools

DEBUG = True
SECRET_KEY = SECRET_KEY or "django-insecure-local-development-only"
# The debug toolbar shows only to these addresses.
INTERNAL_IPS = env.list("DJANGO_INTERNAL_IPS", default=["127.0.0.1", "::1"])

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_RENDERER_CLASSES": [
        *REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"],
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}

install_tools(globals(), "local")
