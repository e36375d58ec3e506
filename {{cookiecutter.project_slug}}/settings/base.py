"""Settings shared by every environment, each switched by an environment variable.

Without ``DATABASE_URL`` and ``REDIS_URL`` the project runs on its embedded default: a SQLite file and a file
cache in ``var/``, both shared correctly by several worker processes.
"""

import copy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

from core.plumbing import sentinel
from core.plumbing.cors import cors_settings, install_cors
from core.plumbing.tasks import celery_settings
from core.toolkit.edge import parse_purge_url

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# Local runs read .env; production reads only the real environment, so a stray file cannot override it.
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=env.str("DJANGO_SETTINGS_MODULE", default="") == "settings.local"):
    env.read_env(BASE_DIR / ".env")

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
DEBUG = False
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "api",
]

# Server-Timing's middleware goes after the developer tools (settings/tools/ puts them right after
# SecurityMiddleware), so it times the project's own work, not the profilers'; its view marker goes last.
MIDDLEWARE = [
    # Outermost, so every response carries its X-Request-ID and is logged, cached hits and error pages included; the
    # request log (on with REQUEST_LOG) times everything below it (core/observability/).
    "core.observability.request_id.RequestIdMiddleware",
    "core.observability.request_log.RequestLogMiddleware",
    # Then, so every response gets its Content-Security-Policy, static files and tool pages included.
    "core.plumbing.security.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.observability.timing.ServerTimingMiddleware",
    # Public cached reads are answered here: the middleware below does nothing for them (core/toolkit/middleware.py).
    "core.toolkit.middleware.CachedReadMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.plumbing.exceptions.DatabaseUnavailableMiddleware",
    "core.observability.timing.ViewTimingMiddleware",
]

ROOT_URLCONF = "core.plumbing.urls"
WSGI_APPLICATION = "core.plumbing.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


# Runs of one query on one connection before it is prepared (psycopg's default).
PREPARE_THRESHOLD = 5
# What DJANGO_DB_POOLER may name as sitting between the project and PostgreSQL.
DB_POOLERS = ("none", "pgbouncer")
# Seconds a connection to pgbouncer is kept across requests. Opening one per request would cost each request a
# round trip and pgbouncer's login, while a kept one costs pgbouncer only a socket: it holds no server connection
# between transactions. Not for ever, so connections spread over pgbouncer's instances again after one restarts.
POOLED_CONN_MAX_AGE = 600


def database_pooler() -> str:
    """Return DJANGO_DB_POOLER, none or pgbouncer (in transaction mode); stop start-up naming any other value."""
    value: str = env.str("DJANGO_DB_POOLER", default="none")
    if value.strip().lower() not in DB_POOLERS:
        raise SystemExit(f"DJANGO_DB_POOLER must be none or pgbouncer (transaction pooling): {value!r}")
    return value.strip().lower()


def direct_connection_options() -> dict[str, Any]:
    """Return the options of connections straight to PostgreSQL: Django's pool and the statement timeout."""
    return {
        "options": f"-c statement_timeout={env.int('DJANGO_DB_STATEMENT_TIMEOUT_MS', default=30_000)}",
        "pool": {
            # Per worker process: workers x max_size must stay under PostgreSQL's max_connections.
            "min_size": env.int("DJANGO_DB_POOL_MIN_SIZE", default=1),
            "max_size": env.int("DJANGO_DB_POOL_MAX_SIZE", default=4),
            # How long a request waits for a pooled connection before its 503. A sync worker uses one connection
            # at a time, so waiting here means the database does not answer, not that the pool is busy.
            "timeout": env.float("DJANGO_DB_POOL_TIMEOUT", default=2.0),
        },
    }


def pgbouncer_statement_timeout_check() -> None:
    """Stop start-up when DJANGO_DB_STATEMENT_TIMEOUT_MS is set behind pgbouncer, which could not apply it."""
    if "DJANGO_DB_STATEMENT_TIMEOUT_MS" in env.ENVIRON:
        # It travels in the "options" startup parameter, which pgbouncer refuses: the server must set it instead.
        raise SystemExit(
            "DJANGO_DB_STATEMENT_TIMEOUT_MS does not apply behind pgbouncer: unset it and set the timeout on the "
            "server (ALTER ROLE your_user SET statement_timeout = '30s') or in pgbouncer's connect_query."
        )


def database_settings() -> dict[str, Any]:
    """Return the default database: PostgreSQL from DATABASE_URL, else the embedded SQLite file."""
    config: dict[str, Any] = env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
    # Read whatever the database, so a misspelt value stops start-up; only PostgreSQL's connections are pooled.
    pooler = database_pooler()
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers run beside a writer, and IMMEDIATE transactions take the write lock up front, so
        # several gunicorn workers queue for it instead of failing with "database is locked".
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        return config
    # Django's PostgreSQL backend with a circuit breaker (core/plumbing/db/): after a failed connection, requests that
    # need one fail at once with a 503 for this many seconds, then one probes; 0 turns it off.
    config["ENGINE"] = "core.plumbing.db"
    config["CIRCUIT_BREAKER_SECONDS"] = env.float("DJANGO_DB_CIRCUIT_BREAKER_SECONDS", default=2.0)
    # Behind pgbouncer the backend opens server-side cursors only inside transactions (core/plumbing/db/base.py).
    config["POOLER"] = pooler
    # With Django's pool, Django turns this into the pool's check: a pooled connection is tested before it is handed
    # out, so a restarted server costs no failed request (naming "check" in the pool options too breaks Django 5.2).
    # Behind pgbouncer, a kept connection is tested likewise before a request uses it again.
    config["CONN_HEALTH_CHECKS"] = True
    config["OPTIONS"] = {
        # Short, so a request that needs a database that does not answer gets its 503 within seconds (libpq's
        # minimum is 2 s), instead of holding its worker: the other workers keep serving cache hits.
        "connect_timeout": env.int("DJANGO_DB_CONNECT_TIMEOUT", default=2),
    }
    if pooler == "pgbouncer":
        # The pool on one side only: pgbouncer's. A pool here too would hold idle client connections in every worker,
        # so the worker's one connection is kept instead (Django's pool needs CONN_MAX_AGE 0; without it, 0 would
        # reconnect on every request).
        pgbouncer_statement_timeout_check()
        config["CONN_MAX_AGE"] = POOLED_CONN_MAX_AGE
    else:
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] |= direct_connection_options()
    # A query run a few times on a connection is planned once and then only executed: the article list's query
    # spends as long being planned as being run. Needs server-side binding (the parameters sent apart from the text,
    # so a page's query has one text whatever its cursor). Off by default behind pgbouncer: before 1.21, or without
    # max_prepared_statements, a statement prepared on one server connection is then run on another, which lacks it.
    # Off means prepare_threshold None as well: psycopg prepares a query run 5 times unless told not to.
    prepared = env.bool("DJANGO_DB_PREPARED_STATEMENTS", default=pooler == "none")
    config["OPTIONS"] |= {
        "server_side_binding": prepared,
        "prepare_threshold": PREPARE_THRESHOLD if prepared else None,
    }
    return config


def cache_settings() -> dict[str, Any]:
    """Return the default cache: Redis from REDIS_URL (through REDIS_SENTINELS when set), else a shared file cache."""
    redis_url = env.str("REDIS_URL", default="")
    # Read first: REDIS_SENTINELS without REDIS_URL stops start-up.
    setup = redis_sentinel()
    if not redis_url:
        # A per-process memory cache would not do: an invalidation in one worker would not reach the others.
        return {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": VAR_DIR / "cache",
            "OPTIONS": {"MAX_ENTRIES": env.int("DJANGO_FILE_CACHE_MAX_ENTRIES", default=10_000)},
        }
    connect_timeout = env.float("DJANGO_REDIS_CONNECT_TIMEOUT", default=0.5)
    timeout = env.float("DJANGO_REDIS_TIMEOUT", default=0.5)
    config: dict[str, Any] = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": redis_url,
        "KEY_PREFIX": env.str("DJANGO_CACHE_KEY_PREFIX", default="{{ cookiecutter.project_slug }}"),
        "OPTIONS": {
            # redis-py parses replies with hiredis whenever it is installed, as it is here.
            "SOCKET_CONNECT_TIMEOUT": connect_timeout,
            "SOCKET_TIMEOUT": timeout,
            "CONNECTION_POOL_KWARGS": {"max_connections": env.int("DJANGO_REDIS_MAX_CONNECTIONS", default=20)},
            # A Redis outage then reads as cache misses: requests fall back to the database, never a 500.
            "IGNORE_EXCEPTIONS": True,
        },
    }
    if setup is not None:
        # A list of one URL: given a string, django-redis's SentinelClient adds a pool of replicas and sends every
        # read there, and a replica lags its primary: a bump's read-back, and the reads after a write, would see the
        # old versions. Reads and writes go to the primary; the replicas are there to take over.
        config["LOCATION"] = [redis_url]
        config["OPTIONS"] |= sentinel.cache_options(setup, connect_timeout=connect_timeout, timeout=timeout)
    return config


def redis_sentinel() -> sentinel.SentinelSetup | None:
    """Return the sentinels of REDIS_SENTINELS and the service REDIS_URL names (None: unset), or stop start-up."""
    try:
        return sentinel.sentinel_setup(env.ENVIRON)
    except ImproperlyConfigured as exc:
        raise SystemExit(str(exc)) from None


def wait_replicas() -> int:
    """Return how many replicas must hold a version bump (0: none waited for), or stop start-up naming a bad value."""
    value = env.str("DJANGO_REDIS_WAIT_REPLICAS", default="1" if redis_sentinel() else "0").strip()
    if not value.isdigit():
        raise SystemExit(f"DJANGO_REDIS_WAIT_REPLICAS must be a whole number of replicas, 0 for none: {value!r}")
    if int(value) and not env.str("REDIS_URL", default=""):
        raise SystemExit("DJANGO_REDIS_WAIT_REPLICAS needs REDIS_URL: only Redis has replicas to wait for.")
    return int(value)


def wait_timeout_ms() -> int:
    """Return how long a version bump waits for its replicas, in milliseconds, or stop start-up naming a bad value."""
    value = env.str("DJANGO_REDIS_WAIT_TIMEOUT_MS", default="100").strip()
    # 0 would make Redis's WAIT block for good.
    if not value.isdigit() or int(value) == 0:
        raise SystemExit(f"DJANGO_REDIS_WAIT_TIMEOUT_MS must be a positive whole number of milliseconds: {value!r}")
    return int(value)


# The spellings of a switch read as on or off; anything else stops start-up.
SWITCHES = {"on": True, "true": True, "yes": True, "1": True, "off": False, "false": False, "no": False, "0": False}
LOG_FORMATS = ("json", "plain")


def switch_setting(name: str, default: str) -> bool:
    """Return whether an on/off variable is on, or stop start-up naming its value when it is neither."""
    value = env.str(name, default=default)
    on = SWITCHES.get(value.strip().lower())
    if on is None:
        # SystemExit, as for a missing secret: manage.py would swallow ImproperlyConfigured and run without settings.
        raise SystemExit(f"{name} must be on or off: {value!r}")
    return on


def local_cache_setting() -> bool:
    """Return whether the process-local cache layer is on, or stop start-up with the reason it cannot be."""
    on = switch_setting("DJANGO_API_LOCAL_CACHE", default="off")
    if on and not env.str("REDIS_URL", default=""):
        raise SystemExit("DJANGO_API_LOCAL_CACHE=on needs REDIS_URL: its invalidations arrive by Redis pub/sub.")
    return on


def edge_purge_urls() -> list[str]:
    """Return the edges' purge URLs, or stop start-up naming one that is not ``http://HOST:PORT``."""
    urls = [url.strip() for url in env.list("DJANGO_EDGE_PURGE_URLS", default=[]) if url.strip()]
    for url in urls:
        try:
            parse_purge_url(url)
        except ImproperlyConfigured as exc:
            raise SystemExit(str(exc)) from None
    return urls


def upstream_url() -> str:
    """Return the overview's upstream URL (empty: none), or stop start-up unless it is an http(s) URL with a host."""
    url: str = env.str("DJANGO_API_UPSTREAM_URL", default="").strip()
    try:
        parts = urlsplit(url)
        valid = parts.scheme in {"http", "https"} and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number
        valid = False
    if url and not valid:
        raise SystemExit(f"DJANGO_API_UPSTREAM_URL must be an http:// or https:// URL with a host: {url!r}")
    return url


def cors() -> dict[str, Any]:
    """Return the CORS settings of DJANGO_CORS_ALLOWED_ORIGINS (none when empty), or stop start-up saying why not."""
    try:
        return cors_settings(
            env.str("DJANGO_CORS_ALLOWED_ORIGINS", default=""),
            credentials=env.bool("DJANGO_CORS_ALLOW_CREDENTIALS", default=False),
        )
    except ImproperlyConfigured as exc:
        raise SystemExit(str(exc)) from None


def log_format(default: str) -> str:
    """Return the log format, DJANGO_LOG_FORMAT: json or plain; stop start-up naming any other value."""
    value: str = env.str("DJANGO_LOG_FORMAT", default=default)
    if value.strip().lower() not in LOG_FORMATS:
        raise SystemExit(f"DJANGO_LOG_FORMAT must be json or plain: {value!r}")
    return value.strip().lower()


def celery() -> dict[str, Any]:
    """Return the CELERY_* settings of the environment (core/plumbing/tasks.py); stop start-up naming a bad value."""
    try:
        return celery_settings(env.ENVIRON)
    except ImproperlyConfigured as exc:
        raise SystemExit(str(exc)) from None


def throttle_cache_settings(default: dict[str, Any]) -> dict[str, Any]:
    """Return the throttles' cache: the default cache, but raising its errors (see core/plumbing/throttling.py)."""
    options = {name: value for name, value in default.get("OPTIONS", {}).items() if name != "IGNORE_EXCEPTIONS"}
    return {**default, "OPTIONS": options}


# What a replica's URL gives it; everything else is copied from the primary.
REPLICA_URL_FIELDS = ("NAME", "HOST", "PORT", "USER", "PASSWORD")


def replica_databases(primary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return ``replica_1``, ``replica_2``... from DATABASE_REPLICA_URLS: the primary's settings, another server.

    Only where to connect comes from each URL; pooling, timeouts and the circuit breaker are the primary's; only the
    pool's check of a connection before handing it out is off.
    """
    urls = [url.strip() for url in env.str("DATABASE_REPLICA_URLS", default="").split(",") if url.strip()]
    if urls and primary["ENGINE"] != "core.plumbing.db":
        raise SystemExit("DATABASE_REPLICA_URLS needs a PostgreSQL DATABASE_URL: replicas stream from it.")
    replicas = {}
    for number, url in enumerate(urls, start=1):
        config = environ.Env.db_url_config(url)
        if not config["ENGINE"].endswith("postgresql"):
            raise SystemExit(f"DATABASE_REPLICA_URLS: replica {number} is not a postgres:// URL.")
        where = {field: config.get(field, "") for field in REPLICA_URL_FIELDS}
        # TEST MIRROR: a test run reads the primary's test database through the alias and creates none for it.
        # No pool check: on a replica that hangs it would wait forever, before core/plumbing/db/replicas.py can cut the
        # connection; a dead pooled connection instead fails its rebuild, which the primary then answers.
        checks = {"CONN_HEALTH_CHECKS": False}
        replicas[f"replica_{number}"] = copy.deepcopy(primary) | where | checks | {"TEST": {"MIRROR": "default"}}
    return replicas


DATABASES = {"default": database_settings()}
DATABASES |= replica_databases(DATABASES["default"])
if len(DATABASES) > 1:
    # Rebuilds of cached reads read a replica that has replayed their versions' writes (core/plumbing/db/replicas.py);
    # a client that just wrote reads the primary (core/plumbing/db/read_your_writes.py). Both only with replicas.
    DATABASE_ROUTERS = ["core.plumbing.db.replicas.ReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("core.toolkit.middleware.CachedReadMiddleware") + 1,
        "core.plumbing.db.read_your_writes.ReadYourWritesMiddleware",
    )
# Seconds a client's reads go to the primary after its write (POST, PUT, PATCH, DELETE); 0 pins nothing.
DB_READ_YOUR_WRITES_SECONDS = env.float("DJANGO_DB_READ_YOUR_WRITES_SECONDS", default=5.0)
# Seconds a replica that failed (refused, timed out, broke a rebuild) is skipped; its rebuilds read the primary.
DB_REPLICA_RETRY_SECONDS = env.float("DJANGO_DB_REPLICA_RETRY_SECONDS", default=5.0)
# Seconds a rebuild (or the position check before it) may wait on a replica before its connection is cut and the
# primary answers instead: bounds a replica that hangs without closing the connection (core/plumbing/db/replicas.py).
DB_REPLICA_TIMEOUT = env.float("DJANGO_DB_REPLICA_TIMEOUT", default=2.0)
CACHES = {"default": cache_settings()}
# The same entries as the default cache: a throttle that cannot count there counts per process instead.
CACHES["throttle"] = throttle_cache_settings(CACHES["default"])
# Ignored Redis errors are logged through this logger, whose filter (LOGGING below) logs an outage once per interval.
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
DJANGO_REDIS_LOGGER = "django_redis.cache"
# A version bump counts as landed once this many replicas acknowledge it (Redis WAIT, on the bump's connection, for at
# most REDIS_WAIT_TIMEOUT_MS): a failover cannot lose it then. One not acknowledged is kept and retried like one the
# cache refused. With REDIS_SENTINELS, 1 by default, and never more than the replicas the sentinels see alive; without,
# 0: not waited for, no extra round trip (core/toolkit/replication.py).
REDIS_WAIT_REPLICAS = wait_replicas()
REDIS_WAIT_TIMEOUT_MS = wait_timeout_ms()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "{{ cookiecutter.timezone }}"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Bodies above this are refused with 413 before they are parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DJANGO_MAX_BODY_BYTES", default=1_048_576)
# Bounds of what a client may send the example API, each refused with a 400 one past it (api.serializers,
# core.plumbing.parsers). They also bound every response a client can grow: an article shows at most API_MAX_TAGS tags
# and its five latest comments.
API_MAX_JSON_DEPTH = env.int("DJANGO_API_MAX_JSON_DEPTH", default=32)
API_MAX_TAGS = env.int("DJANGO_API_MAX_TAGS", default=20)
API_MAX_ARTICLE_BODY = env.int("DJANGO_API_MAX_ARTICLE_BODY", default=100_000)
API_MAX_COMMENT_BODY = env.int("DJANGO_API_MAX_COMMENT_BODY", default=5_000)
# The upstream GET /api/overview/ fetches beside the stats (api/upstream.py); empty: the overview says it has none.
# Past the timeout (seconds, the whole exchange) or the size (bytes), the overview marks it unavailable.
API_UPSTREAM_URL = upstream_url()
API_UPSTREAM_TIMEOUT = env.float("DJANGO_API_UPSTREAM_TIMEOUT", default=1.0)
API_UPSTREAM_MAX_BYTES = env.int("DJANGO_API_UPSTREAM_MAX_BYTES", default=65_536)

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_RENDERER_CLASSES": ["core.toolkit.renderers.ORJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "core.plumbing.parsers.ORJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Token first: an unauthenticated request then gets 401 with WWW-Authenticate, not a bare 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Closed by default: a public endpoint says so with its own permission_classes.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.toolkit.pagination.PageNumberPagination",
    "PAGE_SIZE": env.int("DJANGO_API_PAGE_SIZE", default=20),
    # Throttles count in the shared cache, so every worker process sees the same counts; while it is down, each
    # process counts on its own (core/plumbing/throttling.py).
    "DEFAULT_THROTTLE_CLASSES": [
        "core.plumbing.throttling.AnonRateThrottle",
        "core.plumbing.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("DJANGO_THROTTLE_ANON", default="100/minute"),
        "user": env.str("DJANGO_THROTTLE_USER", default="1000/minute"),
        # Views with throttle_scope = "comments": anonymous comment posting.
        "comments": env.str("DJANGO_THROTTLE_COMMENTS", default="10/minute"),
        # Views with throttle_scope = "export": each export reads every published article (api/export_views.py).
        "export": env.str("DJANGO_THROTTLE_EXPORT", default="10/hour"),
    },
    # Behind N proxies the client address is the Nth from the right of X-Forwarded-For; with 0, REMOTE_ADDR.
    # Never None: DRF would then take the whole X-Forwarded-For, which any client writes, as the client's identity.
    "NUM_PROXIES": env.int("DJANGO_NUM_PROXIES", default=0),
    # drf-spectacular's, plus the error responses each operation can give (see core/toolkit/schema.py).
    "DEFAULT_SCHEMA_CLASS": "core.toolkit.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.plumbing.exceptions.api_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# Whether a browser asking for HTML gets DRF's browsable API from the slim views too (uncached); local turns it on.
API_BROWSABLE = False
# Hard upper bound for ?page_size=; larger values get a 400, not a silently smaller page.
API_MAX_PAGE_SIZE = env.int("DJANGO_API_MAX_PAGE_SIZE", default=100)
# Article exports (api/export.py): where export jobs write their files, how long a file is kept (older ones are
# deleted by the next job, with their jobs), and how many unfinished jobs one user may have at once (more is a 429).
API_EXPORT_DIR = Path(env.str("DJANGO_API_EXPORT_DIR", default=str(VAR_DIR / "exports")))
API_EXPORT_MAX_AGE = env.int("DJANGO_API_EXPORT_MAX_AGE", default=86_400)
API_EXPORT_JOBS_PER_USER = env.int("DJANGO_API_EXPORT_JOBS_PER_USER", default=2)

# Cached reads (core.toolkit.views.CachedReadView). Writes rebuild entries at once (a bump the cache refuses is kept
# in the database and retried until it lands); the TTL bounds an entry's life when every invalidation is lost.
API_CACHE_TTL = env.int("DJANGO_API_CACHE_TTL", default=300)
# Seconds an entry stays in the cache past its TTL, served (marked stale) only when the database is down.
API_CACHE_STALE_IF_ERROR = env.int("DJANGO_API_CACHE_STALE_IF_ERROR", default=86400)
# Cache misses (rebuilds) each client may cause, as a DRF rate; hits are never counted. Empty: no budget.
API_CACHE_MISS_RATE = env.str("DJANGO_API_CACHE_MISS_RATE", default="300/minute") or None
# The cache's name in the Cache-Status header (RFC 9211) of a stale answer.
API_CACHE_NAME = "{{ cookiecutter.project_slug }}"
# A 404 is cached this long, so unknown ids cannot all reach the database; a create shows at once regardless.
API_CACHE_NOT_FOUND_TTL = env.int("DJANGO_API_CACHE_NOT_FOUND_TTL", default=30)
# While one process rebuilds a missing entry the others wait up to LOCK_WAIT seconds for it, then build it too.
API_CACHE_LOCK_TIMEOUT = env.float("DJANGO_API_CACHE_LOCK_TIMEOUT", default=10.0)
API_CACHE_LOCK_WAIT = env.float("DJANGO_API_CACHE_LOCK_WAIT", default=2.0)
# A process-local layer in front of the cache (core/toolkit/local.py), off by default and only with REDIS_URL: each
# worker keeps the entries it read most recently in memory and serves them without a Redis round trip, kept coherent
# by the bumps Redis pushes to it (pub/sub); whenever that subscription is not healthy, reads go through Redis.
# Another worker may answer with the old data until the bump's message reaches it (README, "The process-local layer").
API_LOCAL_CACHE = local_cache_setting()
# Bounds of each worker's local entries: their count, and the bytes of their bodies; the least recently used go first.
API_LOCAL_CACHE_MAX_ENTRIES = env.int("DJANGO_API_LOCAL_CACHE_MAX_ENTRIES", default=1000)
API_LOCAL_CACHE_MAX_BYTES = env.int("DJANGO_API_LOCAL_CACHE_MAX_BYTES", default=32 * 1024 * 1024)
# Cache-Control of public reads. max-age 0: clients revalidate every time (a cheap 304), so they see a write at
# once; shared caches (nginx, Varnish, a CDN) may serve a copy for s-maxage seconds, then stale while revalidating.
API_CACHE_MAX_AGE = env.int("DJANGO_API_CACHE_MAX_AGE", default=0)
API_CACHE_S_MAXAGE = env.int("DJANGO_API_CACHE_S_MAXAGE", default=10)
API_CACHE_STALE_WHILE_REVALIDATE = env.int("DJANGO_API_CACHE_STALE_WHILE_REVALIDATE", default=30)
# The edge (core/toolkit/edge.py, deploy/varnish/default.vcl): with purge URLs, public cached reads carry their
# surrogate keys and a Surrogate-Control, and each landed invalidation purges those keys at every edge before the
# write's response. Empty (the default): no header, no purge. The key header is the edge's: xkey for Varnish's vmod.
API_EDGE_PURGE_URLS = edge_purge_urls()
API_EDGE_KEY_HEADER = env.str("DJANGO_EDGE_KEY_HEADER", default="xkey")
# How long the edge keeps a public read (a lost purge serves stale data at most this long), and how long past that
# it may answer with it while fetching a new one; past the TTL, stale too while the backend is down, for up to
# API_CACHE_STALE_IF_ERROR seconds.
API_EDGE_TTL = env.int("DJANGO_EDGE_TTL", default=3600)
API_EDGE_GRACE = env.int("DJANGO_EDGE_GRACE", default=10)
# Seconds a purge may take to connect, and again to be answered, before it is logged as failed.
API_EDGE_PURGE_TIMEOUT = env.float("DJANGO_EDGE_PURGE_TIMEOUT", default=0.5)
# Whether a cached read checks that its cache_models cover every table its rebuild read (core.toolkit.audit):
# "raise" fails the request (tests), "log" logs an error (local), None skips the check and costs nothing.
API_CACHE_AUDIT: str | None = None

# Background work (core/celery.py, `make worker`): Redis as the broker with CELERY_BROKER_URL, else REDIS_URL's next
# database; with neither, tasks run in-process, in the request that sends them (README, "Background work: Celery").
_celery = celery()
globals().update(_celery)
# Refresh-ahead (core/toolkit/refresh.py): after a write's bump lands, a task rebuilds the first page of each public
# list showing its models, so their next readers hit. On by default with a broker only: in-process, the writer's
# request would pay for every rebuild.
API_REFRESH_AHEAD = switch_setting(
    "DJANGO_API_REFRESH_AHEAD", default="off" if _celery["CELERY_TASK_ALWAYS_EAGER"] else "on"
)

# Server-Timing header (core.observability.timing): "on" for every response, "staff" for signed-in staff only, or "off"
# (then the middleware drops out and costs nothing). A sample rate below 1 times only that share of requests.
SERVER_TIMING = env.str("DJANGO_SERVER_TIMING", default="off")
SERVER_TIMING_SAMPLE_RATE = env.float("DJANGO_SERVER_TIMING_SAMPLE_RATE", default=1.0)

SPECTACULAR_SETTINGS = {
    "TITLE": "{{ cookiecutter.project_name }}",
    "DESCRIPTION": "{{ cookiecutter.description }}",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc load from drf-spectacular-sidecar's static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Content-Security-Policy of every response (core/plumbing/security.py): only this site's scripts, styles, images,
# fonts and requests, no plugin, no framing. Styles may be inline: Swagger UI and Redoc set style attributes and inject
# <style> elements as they render, and a style runs no code. Swagger UI's start-up script is a file of its own
# (SpectacularSwaggerSplitView), so no inline script runs anywhere; Redoc runs its search in a blob: worker.
CONTENT_SECURITY_POLICY: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "worker-src": ["'self'", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
# Sources added to the policy, written as the header is ("img-src https://cdn.example.com; connect-src ...").
CONTENT_SECURITY_POLICY_EXTRA = env.str("DJANGO_CSP_EXTRA", default="")
# Sources added under a path prefix only, as {"/prefix/": {"script-src": [...]}}; the developer tools add theirs.
CONTENT_SECURITY_POLICY_PATHS: dict[str, dict[str, list[str]]] = {}
# Report violations in the browser's console without blocking anything, to try a stricter policy first.
CONTENT_SECURITY_POLICY_REPORT_ONLY = env.bool("DJANGO_CSP_REPORT_ONLY", default=False)
# Permissions-Policy of every response: no page here uses any of these browser features.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}

# (prefix, urlconf) pairs of the optional tools enabled in this environment; see settings/tools/.
TOOL_URLS: list[tuple[str, str]] = []
# (name, (url, description)) of the enabled tools that have a page, for the landing page.
TOOL_PAGES: list[tuple[str, tuple[str, str]]] = []

# While Redis or PostgreSQL is down, their errors are logged once every this many seconds, with the count of the
# others (core/observability/logging.py).
OUTAGE_LOG_INTERVAL = env.float("DJANGO_OUTAGE_LOG_INTERVAL", default=60.0)
# One line per request on the core.requests logger (core/observability/request_log.py): on in production.
REQUEST_LOG = switch_setting("DJANGO_REQUEST_LOG", default="off")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    # Plain text for a terminal; one JSON object a line for a log collector (core/observability/json_log.py).
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"},
        "json": {"()": "core.observability.json_log.JsonFormatter"},
    },
    # One filter per logger: each counts its own errors, so the first of each kind is always logged.
    "filters": {
        **{
            name: {"()": "core.observability.logging.OutageFilter", "interval": OUTAGE_LOG_INTERVAL}
            for name in ("redis", "database", "database_pool")
        },
        # On the handler, not a logger: every logger's records reach it, Django's and libraries' too.
        "request_id": {"()": "core.observability.request_id.RequestIdFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": log_format(default="plain"),
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django_redis": {"level": "WARNING"},
        DJANGO_REDIS_LOGGER: {"level": "WARNING", "filters": ["redis"]},
        "core.plumbing.db": {"filters": ["database"]},
        # The pool logs each failed reconnection of each worker process.
        "psycopg.pool": {"filters": ["database_pool"]},
        # httpx logs every request it sends (the overview's upstream) at INFO: one line per request of that endpoint.
        "httpx": {"level": "WARNING"},
    },
}

# Pages of the sites DJANGO_CORS_ALLOWED_ORIGINS names may call /api/ from browsers (core/plumbing/cors.py); unset, no
# CORS app or middleware is installed at all.
install_cors(globals(), cors())
