"""Gunicorn settings for ``make serve`` and production; every value can be overridden from the environment."""

import multiprocessing
import os
from pathlib import Path

from deploy.address import bind_address

wsgi_app = "core.plumbing.wsgi:application"
# HOST and PORT (127.0.0.1:8000), as for `make run`; GUNICORN_BIND (host:port or unix:/path) overrides both.
bind = bind_address(os.environ)

# Sync workers: the views are short and mostly wait on PostgreSQL or Redis; measured here, async workers ran the
# same sync views several times slower (every call hops threads). (2 x cores) + 1 keeps the CPU busy while some
# workers wait on I/O. Each worker keeps its own database pool: workers x DJANGO_DB_POOL_MAX_SIZE must stay
# below PostgreSQL's max_connections. Behind pgbouncer (DJANGO_DB_POOLER=pgbouncer) each worker keeps one connection
# to it instead, and pgbouncer's pool is sized (README, "pgbouncer in front of PostgreSQL").
# Sync workers must sit behind a buffering proxy, such as deploy/nginx.conf (`make serve-front`): a sync worker
# serves one connection at a time and reads the request from the client itself, so a client that sends it slowly
# holds the worker until the timeout below kills it, and a few such clients stop them all (README, "The front:
# nginx"). nginx reads each request whole before it passes it on, and takes each response at once.
worker_class = "sync"
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))

# Restart each worker after about this many requests, so a slow leak cannot grow forever; the jitter staggers the
# restarts so the workers do not all restart at the same moment. Keep it high: a cached read takes under a
# millisecond, and with 2,000 a worker restarted every second or two under load, which cost a third of the warm
# throughput and pushed p99 from 5 ms to 600 ms (2 workers, wrk -c8, measured for the example API's list).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "100000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "10000"))

# A worker silent this long is killed and replaced; above PostgreSQL's 30 s statement_timeout, so the database
# gives up first and the request gets an error instead of a dropped connection.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "35"))
# Time for in-flight requests to finish on a restart or deploy.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Seconds an idle keep-alive connection is held. Sync workers close every connection after its response and ignore
# this; it applies if worker_class becomes a threaded or async one. Keep-alive to clients is the front's job (nginx).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "2"))

# Load the application once in the master: a settings error (a missing secret) stops start-up with its one-line
# reason instead of a crash loop of workers, and the workers share the loaded code's memory.
preload_app = True

# The heartbeat file on a RAM disk, so a slow disk cannot make a healthy worker look stuck.
SHARED_MEMORY = Path("/dev/shm")  # noqa: S108 - gunicorn's documented place for the heartbeat file
if SHARED_MEMORY.is_dir():
    worker_tmp_dir = str(SHARED_MEMORY)

# Access logs cost throughput on every request; turn them on with GUNICORN_ACCESS_LOG=- (stdout) or a file.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
# gunicorn's default line, then the response's X-Request-ID (core/observability/request_id.py), to find the request's
# own log lines from it.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
