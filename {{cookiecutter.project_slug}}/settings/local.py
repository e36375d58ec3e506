"""Local development: DEBUG, the browsable API and every chosen developer tool; reads .env."""

from .base import *
from .base import MIDDLEWARE as BASE_MIDDLEWARE
from .tools import install_tools

DEBUG = True
SECRET_KEY = SECRET_KEY or "django-insecure-local-development-only"
# The debug toolbar shows only to these addresses.
INTERNAL_IPS = env.list("DJANGO_INTERNAL_IPS", default=["127.0.0.1", "::1"])

API_BROWSABLE = True
# A cached view reading a model it does not name in cache_models logs an error naming the line to add.
API_CACHE_AUDIT = "log"
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_RENDERER_CLASSES": [
        *REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"],
        "core.toolkit.browsable.BrowsableAPIRenderer",
    ],
}

# Every response says where its time went (core.observability.timing); DJANGO_SERVER_TIMING=off turns it off.
SERVER_TIMING = env.str("DJANGO_SERVER_TIMING", default="on")

# A client asking for JSON gets production's JSON errors, not Django's debug pages (core/plumbing/debug_errors.py);
# below the CORS middleware, so a page on another origin can read them too.
_cached_reads = BASE_MIDDLEWARE.index("core.toolkit.middleware.CachedReadMiddleware")
MIDDLEWARE = [
    *BASE_MIDDLEWARE[:_cached_reads],
    "core.plumbing.debug_errors.DebugJSONErrorsMiddleware",
    *BASE_MIDDLEWARE[_cached_reads:],
]

install_tools(globals(), "local")
