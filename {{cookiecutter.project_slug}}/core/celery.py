"""The Celery application: ``celery -A core worker`` (``make worker``) runs the tasks every installed app defines.

Configured from Django's settings, the ``CELERY_*`` names (core/plumbing/tasks.py builds them from the environment).
Tasks are ``celery.shared_task`` functions in any module: an app's ``tasks.py`` (found by ``autodiscover_tasks``)
or any module the URLconf imports (the worker imports it at start). Django loads this module when it starts
(``core.apps``), so ``shared_task`` binds to this app in web processes and management commands alike.

Every task is acknowledged only once it has run and runs again if its worker dies (``acks_late``): write tasks that
may run twice. One that fails on a database or network error is retried with exponential backoff and jitter.
"""

import logging
import os
from importlib import import_module
from typing import Any

from celery import Celery, signals
from celery.contrib.django.task import DjangoTask
from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.plumbing.exceptions import DATABASE_UNAVAILABLE
from core.plumbing.tasks import IN_PROCESS_BROKER

logger = logging.getLogger(__name__)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.production")


class RetryingTask(DjangoTask):
    """A task retried on transient errors: 1 s, 2 s, 4 s... (each a random share of it), at most 5 times."""

    # An unreachable database or Redis, or a dropped connection: worth another try; a bug or bad data is not.
    autoretry_for = (*DATABASE_UNAVAILABLE, RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)
    retry_backoff = 1
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 5


app = Celery("core", task_cls=RetryingTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def check_worker(**kwargs: Any) -> None:
    """Stop a worker with no broker; log each task that may run longer than the broker waits, naming the fix."""
    if app.conf.broker_url == IN_PROCESS_BROKER:
        raise SystemExit("A worker needs REDIS_URL or CELERY_BROKER_URL; without them tasks run in-process.")
    visibility = app.conf.broker_transport_options.get("visibility_timeout", 0)
    for name, task in sorted(app.tasks.items()):
        limit = task.time_limit or app.conf.task_time_limit
        if limit and limit >= visibility:
            # Still running past the visibility timeout, the task would be handed to another worker and run twice.
            logger.error(
                "%s may run %s s: raise CELERY_BROKER_VISIBILITY_TIMEOUT (%s s) above that", name, limit, visibility
            )


@signals.import_modules.connect
def import_urls(**kwargs: Any) -> None:
    """Import the URLconf in the worker, registering the tasks of every module it imports."""
    import_module(settings.ROOT_URLCONF)
