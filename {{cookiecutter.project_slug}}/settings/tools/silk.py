"""django-silk: records /api/ requests (SQL, timing, optional Python profile) for staff at /silk/."""

from collections.abc import Mapping
from typing import Any

import environ

from core.observability.silk import CurrentSecrets, is_recording

from . import Tool

MIDDLEWARE = "core.observability.silk.SampledSilkMiddleware"

# Share of /api/ requests recorded by default: all of them locally, none in tests (they would add queries to
# every query count), a sample in production, where DJANGO_TOOLS=silk must also be set.
DEFAULT_SAMPLE_RATE = {"local": 1.0, "test": 0.0, "production": 0.01}
# Recordings a minute per worker process at most, whatever the traffic, so Silk's write load has a ceiling in
# production; locally every request is recorded, as the sample rate says.
DEFAULT_MAX_PER_MINUTE = {"local": "", "test": "", "production": "60"}


def _per_minute(value: str) -> int | None:
    """Return the per-minute cap, None when empty (no cap), or stop start-up saying what to type instead."""
    if value == "":
        return None
    if not value.isdigit():
        # SystemExit, as for a missing secret: manage.py would swallow ImproperlyConfigured and run without settings.
        raise SystemExit(f"DJANGO_SILK_MAX_PER_MINUTE must be a whole number, or empty for none: {value!r}")
    return int(value)


def silk_settings(environment: str) -> Mapping[str, Any]:
    """Return Silk's settings for an environment."""
    env = environ.Env()
    return {
        "SILK_SAMPLE_RATE": env.float("DJANGO_SILK_SAMPLE_RATE", default=DEFAULT_SAMPLE_RATE[environment]),
        # Recordings a minute per worker process, besides the sample rate; empty for no limit.
        "SILK_MAX_PER_MINUTE": _per_minute(
            env.str("DJANGO_SILK_MAX_PER_MINUTE", default=DEFAULT_MAX_PER_MINUTE[environment])
        ),
        # SampledSilkMiddleware decides which requests to record before Silk's middleware runs; Silk asks it again.
        "SILKY_INTERCEPT_FUNC": is_recording,
        "SILKY_MIDDLEWARE_CLASS": MIDDLEWARE,
        # A query holding a secret of the recorded request (its token or session lookup) is left out.
        "SILKY_IGNORE_QUERIES": CurrentSecrets(),
        "SILKY_AUTHENTICATION": True,
        "SILKY_AUTHORISATION": True,
        "SILKY_PYTHON_PROFILER": env.bool("DJANGO_SILK_PYTHON_PROFILER", default=False),
        "SILKY_META": False,
        # Silk trims the oldest records on 10% of requests once it holds more than the cap;
        # `manage.py silk_trim --keep N` keeps exactly the newest N at once.
        "SILKY_MAX_RECORDED_REQUESTS": env.int("DJANGO_SILK_MAX_RECORDED_REQUESTS", default=10_000),
        "SILKY_MAX_RECORDED_REQUESTS_CHECK_PERCENT": 10,
        "SILKY_MAX_REQUEST_BODY_SIZE": 64 * 1024,
        "SILKY_MAX_RESPONSE_BODY_SIZE": 64 * 1024,
        # Silk's pages (staff only) run inline event handlers, and its date picker evaluates strings: the project's
        # Content-Security-Policy allows both under /silk/ only (core/plumbing/security.py).
        "CONTENT_SECURITY_POLICY_PATHS": {"/silk/": {"script-src": ["'unsafe-inline'", "'unsafe-eval'"]}},
        "SILKY_SENSITIVE_KEYS": {
            "username",
            "api",
            "token",
            "key",
            "secret",
            "password",
            "signature",
            "authorization",
            "cookie",
            "csrfmiddlewaretoken",
            "sessionid",
        },
    }


TOOL = Tool(
    name="silk",
    app="silk",
    middleware=MIDDLEWARE,
    url_prefix="silk/",
    urlconf="silk.urls",
    settings=silk_settings,
    default_in=frozenset({"local", "test"}),
    allowed_in=frozenset({"local", "test", "production"}),
    page=("/silk/", "django-silk: recorded /api/ requests, their SQL, timings and profiles (staff only)"),
)
