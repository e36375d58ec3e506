"""Cached responses: rendered bytes, checked against model versions in the same cache round trip.

Every tracked model has a version number in the default cache. A response is stored with the versions of the
models it read, and a read fetches the entry and the current versions with one ``get_many``: the entry is used
only when its versions are still the current ones. A committed write to a tracked model replaces that model's
version in ``transaction.on_commit``, so every response built from the old rows is rebuilt on its next read, a
rolled-back write changes nothing, and no key is ever scanned or deleted. Entries also expire after their TTL,
which bounds how long a lost invalidation (the cache was down during the write) can serve stale data.
"""

import hashlib
import random
import secrets
import time
from collections.abc import Sequence
from functools import partial
from typing import Any, NamedTuple

from django.core.cache import cache
from django.db import models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

Versions = tuple[int, ...]
ModelClass = type[models.Model]

VERSION_PREFIX = "version:"
LOCK_SUFFIX = ":lock"
TTL_JITTER = 0.1
LOCK_POLL_SECONDS = 0.01
M2M_ACTIONS = frozenset({"post_add", "post_remove", "post_clear"})

_tracked: set[ModelClass] = set()


class CachedResponse(NamedTuple):
    """A rendered response as the cache holds it, with the model versions it was built from."""

    versions: Versions
    status: int
    etag: str
    body: bytes


def track_models(*model_classes: ModelClass) -> None:
    """Bump each model's version after every committed save or delete of its rows and many-to-many change."""
    for model in model_classes:
        uid = f"core.caching:{model._meta.label_lower}"
        # Connected per model, not for every sender: a receiver for all models would stop Django's fast
        # (signal-free) cascade deletes everywhere, third-party apps included.
        post_save.connect(_on_row_change, sender=model, dispatch_uid=uid)
        post_delete.connect(_on_row_change, sender=model, dispatch_uid=uid)
        _tracked.add(model)
    m2m_changed.connect(_on_m2m_change, dispatch_uid="core.caching:m2m")


def is_tracked(model: ModelClass) -> bool:
    """Return whether committed changes to the model bump its version."""
    return model in _tracked


def _on_row_change(sender: ModelClass, using: str, **kwargs: Any) -> None:
    """Bump the saved or deleted row's model once the transaction commits."""
    bump_versions_on_commit(sender, using=using)


def _on_m2m_change(
    sender: ModelClass, instance: models.Model, action: str, model: ModelClass, using: str, **kwargs: Any
) -> None:
    """Bump both ends of a changed many-to-many relation once the transaction commits."""
    changed = [side for side in (type(instance), model) if side in _tracked]
    if action in M2M_ACTIONS and changed:
        bump_versions_on_commit(*changed, using=using)


def version_key(model: ModelClass) -> str:
    """Return the cache key of a model's version."""
    return VERSION_PREFIX + model._meta.label_lower


def _new_version() -> int:
    """Return a fresh version number; random, so two processes never pick the same one."""
    return secrets.randbits(62)


def bump_versions(*model_classes: ModelClass) -> None:
    """Give each model a new version, so every cached response that read it is rebuilt on its next read."""
    cache.set_many({version_key(model): _new_version() for model in model_classes}, timeout=None)


def bump_versions_on_commit(*model_classes: ModelClass, using: str | None = None) -> None:
    """Bump the models' versions when the current transaction commits, or at once outside a transaction.

    Writes that send no signals (``QuerySet.update()``, ``bulk_create()``) call this themselves.
    """
    # robust: a cache error after the commit is logged, not turned into a 500 for a write that succeeded; the
    # entries' TTL bounds how long the missed bump can serve stale data.
    transaction.on_commit(partial(bump_versions, *model_classes), using=using, robust=True)


def read_entry(key: str, model_classes: Sequence[ModelClass]) -> tuple[CachedResponse | None, Versions]:
    """Return the entry if it is still current (else None), and the current versions of the models.

    One round trip once the versions exist: the entry and the versions come back from the same ``get_many``.
    """
    version_keys = [version_key(model) for model in model_classes]
    found = cache.get_many([key, *version_keys])
    missing = {name: _new_version() for name in version_keys if name not in found}
    if missing:
        # First read since the cache was flushed or evicted them. Two processes may race here; the loser's entry
        # simply fails the version check on its next read, so a plain set is enough.
        cache.set_many(missing, timeout=None)
        # A new dict: on an unreachable server django-redis returns one shared {} for every failed get_many.
        found = {**found, **missing}
    versions = tuple(found[name] for name in version_keys)
    entry = found.get(key)
    if isinstance(entry, CachedResponse) and entry.versions == versions:
        return entry, versions
    return None, versions


def etag_for(body: bytes) -> str:
    """Return a strong ETag for the rendered bytes.

    A digest of the body rather than of the versions: a write that leaves this response unchanged (a comment on an
    article that is not on this page) keeps every client's copy valid.
    """
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def store_entry(key: str, versions: Versions, status: int, body: bytes, ttl: int) -> CachedResponse:
    """Store a rendered response for ``ttl`` seconds, give or take a jitter; return the entry."""
    entry = CachedResponse(versions, status, etag_for(body), body)
    # Jitter spreads the expiry of entries built together, so they are not all rebuilt in the same second.
    cache.set(key, entry, timeout=max(1, round(ttl * random.uniform(1 - TTL_JITTER, 1 + TTL_JITTER))))  # noqa: S311
    return entry


def lock_entry(key: str, timeout: float) -> bool | None:
    """Return True if this process may rebuild the entry, False if another one is, None if the cache is down."""
    # django-redis answers None instead of raising when the server is unreachable; add() is False only when the
    # lock is really held. On the file cache add() is check-then-set, so the lock is best effort there.
    acquired: bool | None = cache.add(key + LOCK_SUFFIX, 1, timeout=max(1, round(timeout)))
    return acquired


def unlock_entry(key: str) -> None:
    """Release the rebuild lock taken by ``lock_entry``."""
    cache.delete(key + LOCK_SUFFIX)


def wait_for_entry(key: str, versions: Versions, seconds: float) -> CachedResponse | None:
    """Return the entry another process is rebuilding for these versions once it lands, or None after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(LOCK_POLL_SECONDS)
        entry = cache.get(key)
        if isinstance(entry, CachedResponse) and entry.versions == versions:
            return entry
    return None
