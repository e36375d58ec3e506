"""Test settings: they differ from base only to make the suite fast and hermetic.

``DATABASE_URL`` and ``REDIS_URL`` still apply, so the same suite runs on the embedded default and on real
PostgreSQL and Redis.
"""

from .base import *
from .tools import install_tools

SECRET_KEY = "test-only-secret-key-not-for-any-deployment-0123456789abcdef"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

# With these settings, tests run faster: MD5 is a fraction of PBKDF2's cost, and no test checks hash strength.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A file, not SQLite's in-memory test database: there, threads share one cache whose table locks fail at once, so
# the concurrent-writer tests (tests/api/test_concurrency.py) could not queue on the write lock as workers do.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": VAR_DIR / "test-db.sqlite3"}

# A cache of its own, so a test run never clears (or reads) the development server's entries.
if CACHES["default"]["BACKEND"].endswith("FileBasedCache"):
    CACHES["default"]["LOCATION"] = VAR_DIR / "test-cache"
else:
    CACHES["default"]["KEY_PREFIX"] = "test:{{ cookiecutter.project_slug }}"
CACHES["throttle"] = throttle_cache_settings(CACHES["default"])

# Tasks run in-process whatever the broker, so a test sees their effect at once (tests/core/test_worker.py runs a real
# worker); refresh-ahead is off, as it would add its rebuilds to every write's queries: its tests turn it on.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
API_REFRESH_AHEAD = False

# The header is on in tests, so the suite runs every request through the timing middleware.
SERVER_TIMING = "on"
# A cached view reading a model it does not name in cache_models fails its test, naming the line to add.
API_CACHE_AUDIT = "raise"
# No line per request, whatever the environment says: the tests that check it turn it on.
REQUEST_LOG = False

install_tools(globals(), "test")
