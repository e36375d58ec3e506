"""Production: secrets from the environment only, HTTPS everywhere, developer tools only when DJANGO_TOOLS names them.

Start-up stops with a one-line reason when a required variable is missing.
"""

import os

from core.observability.sentry import init_sentry

from .base import *
from .base import MIDDLEWARE as BASE_MIDDLEWARE
from .tools import install_tools

REQUIRED = ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS")
missing = [name for name in REQUIRED if not env.str(name, default="").strip()]
if missing:
    raise SystemExit(f"Production settings need {', '.join(missing)} in the environment (see .env.example).")

SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DEBUG = False

# TLS ends at the proxy in front; it says so with X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Hashed, compressed static files (the OpenAPI docs' assets among them), served by WhiteNoise after collectstatic;
# locally, runserver serves them itself. A file collectstatic has not collected yet is linked by its plain name, not a
# 500 (core/plumbing/staticfiles.py), and the system checks name it.
# WhiteNoise goes right after SecurityMiddleware, as its documentation asks.
_after_security = BASE_MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1
MIDDLEWARE = [
    *BASE_MIDDLEWARE[:_after_security],
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *BASE_MIDDLEWARE[_after_security:],
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "core.plumbing.staticfiles.StaticFilesStorage"},
}

# One JSON object a log line, and one line a request with its status, duration, queries and cache outcome
# (README, "Errors and logs"); DJANGO_LOG_FORMAT=plain and DJANGO_REQUEST_LOG=off say otherwise.
LOGGING["handlers"]["console"]["formatter"] = log_format(default="json")
REQUEST_LOG = switch_setting("DJANGO_REQUEST_LOG", default="on")
# Error reports, only when SENTRY_DSN is set, scrubbed of every secret (core/observability/sentry.py).
init_sentry(os.environ)

install_tools(globals(), "production")
