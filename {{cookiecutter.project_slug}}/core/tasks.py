"""The core app's background tasks: a worker's ping, and refresh-ahead of the cached lists a write made outdated."""

import logging
from collections.abc import Collection
from typing import Any

from celery import shared_task
from django.conf import settings

from core.toolkit import refresh
from core.toolkit.http import HIT, MISS

logger = logging.getLogger(__name__)

# A refresh still waiting in the queue after this many seconds is dropped: a reader has rebuilt the page by then.
REFRESH_EXPIRES = 60
# What a refresh's GET may find: the page rebuilt by this refresh, or already rebuilt by a reader.
REBUILT = frozenset({HIT, MISS})


@shared_task(ignore_result=False)
def ping() -> str:
    """Return "pong": a worker is consuming the queue."""
    return "pong"


@shared_task(autoretry_for=(), ignore_result=True)
def refresh_lists(paths: list[str]) -> dict[str, str]:
    """Rebuild the first page of each list path; return how each went. Never retried: a reader rebuilds it anyway."""
    # Released first: a write landing while the pages are rebuilt sends another refresh, which builds its versions.
    refresh.release(paths)
    outcomes: dict[str, str] = {}
    for path in paths:
        try:
            outcomes[path] = refresh.refresh(path)
        except Exception:
            outcomes[path] = "error"
            logger.exception("Refresh-ahead of %s failed; its next reader rebuilds it", path)
            continue
        if outcomes[path] not in REBUILT:
            # A 429: refreshes spent their miss budget (settings.API_CACHE_MISS_RATE), as a client would.
            logger.warning("Refresh-ahead of %s answered %s; its next reader rebuilds it", path, outcomes[path])
    return outcomes


def send_refreshes(sender: Any, keys: Collection[str], **kwargs: Any) -> None:
    """Send a refresh of the lists these landed version keys outdated, unless one waits for them already."""
    if not settings.API_REFRESH_AHEAD:
        return
    try:
        paths = refresh.claim(refresh.lists_to_refresh(keys))
        if paths:
            # One attempt: with the broker down, the writer's request must not wait for retries of a refresh.
            refresh_lists.apply_async((paths,), expires=REFRESH_EXPIRES, retry=False)
    except Exception:
        # The write has landed and its bump too: a refresh that cannot be sent costs the next reader a miss, no more.
        logger.exception("Refresh-ahead not sent for %s", sorted(keys))
