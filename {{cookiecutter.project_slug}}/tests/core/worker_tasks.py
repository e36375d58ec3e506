"""Tasks only the tests send: one that notes each start (a worker imports it with ``--include``), one that fails."""

import os
import time

from celery import shared_task
from django.core.cache import cache
from django.db import OperationalError

attempts: list[int] = []


@shared_task
def hold(token: str, seconds: float) -> int:
    """Note a start and the process id under the token, hold for ``seconds`` on the first start; return the starts."""
    cache.add(f"starts:{token}", 0, timeout=300)
    starts = cache.incr(f"starts:{token}")
    cache.set(f"pid:{token}", os.getpid(), timeout=300)
    if starts == 1:
        time.sleep(seconds)
    return int(starts)


@shared_task
def flaky(failures: int) -> int:
    """Fail with a database error ``failures`` times, then return the number of attempts."""
    attempts.append(1)
    if len(attempts) <= failures:
        raise OperationalError("server closed the connection unexpectedly")
    return len(attempts)
