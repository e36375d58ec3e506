"""Cached responses: rendered bytes, checked against versions in the same cache round trip.

Versions live in the default cache, each a random number under a key of its own:

- a **model version** per tracked model, for responses that show many of its rows (lists, counts);
- an **object version** per row (``version:api.article:42``), for responses that show one object: it changes when
  the row changes, when a child row declared with ``track_models(Comment, parents=("article",))`` changes, and
  when a many-to-many change links or unlinks it;
- an **objects generation** per model, read by every object-scoped response of that model: a model-wide
  ``bump_versions(Model)`` (bulk writes that send no signals) changes it, so they still reach every object.

A response is stored with the versions it was built from, and a read fetches the entry and the current versions
with one ``get_many``: the entry is used only when its versions are still the current ones and its lifetime has
not passed. A committed write replaces the versions it affects in ``transaction.on_commit``, so a rolled-back
write changes nothing and no key is ever scanned or deleted; the rows a transaction changes are bumped together, in
one round trip (``core.plumbing.db.commit_batches``). A comment on article 42 thus rebuilds article 42's
detail, its comments and the lists, and no other article's detail.

A bump is read back to check that it landed (a cache that ignores errors drops a failed write silently). One that
did not is kept in the database (``core.toolkit.models.PendingInvalidation``) and retried by a background thread of the
process, by ``/health/`` and by ``manage.py land_invalidations`` until it lands. Entries stay in the cache a while
past their lifetime, so a read can still answer with the last good bytes when the database is down.

With read replicas (``core.plumbing.db.replicas``), a version also says how new the data built from it must be: above
its 62 random bits it carries the primary's WAL position read right after the write (``written_lsn``), so a rebuild
reads a replica only once the replica has replayed it. That costs one query on the primary per bump; without
replicas the position is 0 and no query is made.
"""

import hashlib
import logging
import random
import secrets
import threading
import time
from collections.abc import Collection, Iterable, Sequence
from datetime import timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections, models
from django.db.models import Count, Min
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save
from django.dispatch import Signal
from django.utils import timezone
from django_redis.client import DefaultClient, ShardClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.plumbing.db.commit_batches import on_commit_merged
from core.plumbing.db.replicas import primary_lsn
from core.toolkit import edge, local, replication
from core.toolkit.models import PendingInvalidation

logger = logging.getLogger(__name__)

Versions = tuple[int, ...]
ModelClass = type[models.Model]

# What django-redis turns into a miss under IGNORE_EXCEPTIONS (its client's _main_exceptions).
REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError, ResponseError, OSError)
VERSION_PREFIX = "version:"
OBJECTS_SUFFIX = "#objects"
LOCK_SUFFIX = ":lock"
TTL_JITTER = 0.1
LOCK_POLL_SECONDS = 0.01
M2M_ACTIONS = frozenset({"post_add", "post_remove", "post_clear"})
# A version's random low bits; the bits above them hold the primary's WAL position (0 without replicas).
RANDOM_BITS = 62
# The position of versions made while the primary's could not be read: beyond any replica's, so rebuilds from them
# read the primary.
UNKNOWN_LSN = 2**64 - 1
# The retry thread tries again after half a second, backing off to a few seconds while the cache still refuses
# writes: a bump lands seconds after the cache is back.
RETRY_FIRST_DELAY = 0.5
RETRY_MAX_DELAY = 4.0
RETRY_BATCH = 500
# The parent foreign keys each row remembers as loaded, so moving a row to another parent rebuilds both parents.
LOADED_PARENTS = "_caching_loaded_parents"
# A parent key that was not loaded (a deferred field), not None: None is a legal value of a nullable foreign key.
_UNKNOWN: Any = object()

# Sent with ``keys``, the version keys, once a bump has landed (at commit, or when a pending one is retried): what
# was built from the old versions is outdated from now on (core/toolkit/refresh.py rebuilds the hottest of it).
versions_bumped = Signal()

# Each tracked model, with the foreign keys whose targets show its rows.
_tracked: dict[ModelClass, tuple[models.ForeignKey[Any, Any], ...]] = {}


class CachedResponse(NamedTuple):
    """A rendered response as the cache holds it, with the versions it was built from and when it goes stale."""

    versions: Versions
    status: int
    etag: str
    body: bytes
    expires: float  # seconds since the epoch


# Part of every entry key: during a rolling deploy old and new processes run side by side, and neither can read
# the other's entries once the fields of CachedResponse change, or its module (entries are pickled by class path:
# 3 since it moved to core.toolkit.caching). Change it with them.
ENTRY_FORMAT = 3


class Lookup(NamedTuple):
    """What a read found: the current entry or None, the current versions, and an outdated entry kept for errors."""

    entry: CachedResponse | None
    versions: Versions
    stale: CachedResponse | None


class PendingSummary(NamedTuple):
    """How many bumps wait for the cache, and the age of the oldest in seconds."""

    pending: int
    oldest_seconds: float


def track_models(*model_classes: ModelClass, parents: Sequence[str] = ()) -> None:
    """Bump versions after every committed save or delete of the models' rows and many-to-many change.

    ``parents`` names foreign keys of these models whose targets show their rows (an article shows its comments):
    a row change also bumps the object version of the row it points to.
    """
    for model in model_classes:
        uid = f"core.toolkit.caching:{model._meta.label_lower}"
        _tracked[model] = tuple(_parent_field(model, name) for name in parents)
        # Connected per model, not for every sender: a receiver for all models would stop Django's fast
        # (signal-free) cascade deletes everywhere, third-party apps included.
        post_save.connect(_on_row_change, sender=model, dispatch_uid=uid)
        post_delete.connect(_on_row_change, sender=model, dispatch_uid=uid)
        if parents:
            post_init.connect(_remember_parents, sender=model, dispatch_uid=uid)
    m2m_changed.connect(_on_m2m_change, dispatch_uid="core.toolkit.caching:m2m")


def _parent_field(model: ModelClass, name: str) -> "models.ForeignKey[Any, Any]":
    """Return the model's foreign key called ``name``, or say what is wrong at import time."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.ForeignKey):
        raise ImproperlyConfigured(f"track_models({model.__name__}, parents=...): {name!r} is not a foreign key.")
    return field


def is_tracked(model: ModelClass) -> bool:
    """Return whether committed changes to the model bump its versions."""
    return model in _tracked


def child_models(model: ModelClass) -> list[ModelClass]:
    """Return the tracked models whose rows a row of ``model`` shows (``track_models(..., parents=...)``)."""
    return [child for child, fields in _tracked.items() if any(field.related_model is model for field in fields)]


def version_key(model: ModelClass) -> str:
    """Return the cache key of a model's version."""
    return VERSION_PREFIX + model._meta.label_lower


def surrogate_keys(version_keys: Iterable[str]) -> list[str]:
    """Return the edge's keys of these version keys: the same names without the prefix (``api.article:42``)."""
    return [key.removeprefix(VERSION_PREFIX) for key in version_keys]


def object_version_key(model: ModelClass, pk: object) -> str:
    """Return the cache key of one row's version."""
    return f"{VERSION_PREFIX}{model._meta.label_lower}:{pk}"


def objects_generation_key(model: ModelClass) -> str:
    """Return the cache key every object-scoped entry of the model reads besides its object's version."""
    return VERSION_PREFIX + model._meta.label_lower + OBJECTS_SUFFIX


def object_keys(model: ModelClass, pk: object) -> list[str]:
    """Return the version keys a response showing one row depends on: the row's, and the model's generation."""
    return [object_version_key(model, pk), objects_generation_key(model)]


def model_wide_keys(model_classes: Iterable[ModelClass]) -> list[str]:
    """Return the keys a change to any row of these models bumps: model versions and objects generations.

    A child model's generation is its parents' too: a bulk change of comments reaches every article's detail.
    """
    keys: list[str] = []
    for model in model_classes:
        keys += [version_key(model), objects_generation_key(model)]
        keys += [objects_generation_key(field.related_model) for field in _tracked.get(model, ())]
    return list(dict.fromkeys(keys))


def _remember_parents(sender: ModelClass, instance: models.Model, **kwargs: Any) -> None:
    """Note the parents a row was loaded with, so a save that moves it also rebuilds the old parent."""
    instance.__dict__[LOADED_PARENTS] = [instance.__dict__.get(field.attname, _UNKNOWN) for field in _tracked[sender]]


def _row_keys(model: ModelClass, instance: models.Model) -> list[str]:
    """Return the keys a saved or deleted row bumps: its model, itself, and its old and new parents."""
    keys = [version_key(model), object_version_key(model, instance.pk)]
    loaded = instance.__dict__.get(LOADED_PARENTS) or [_UNKNOWN] * len(_tracked[model])
    for field, old in zip(_tracked[model], loaded, strict=True):
        parent_pks = {old, instance.__dict__.get(field.attname, _UNKNOWN)} - {None}
        if _UNKNOWN in parent_pks:
            # A deferred foreign key (``only()``): reading it now would cost a query, and fail after a delete.
            keys.append(objects_generation_key(field.related_model))
        keys += [object_version_key(field.related_model, pk) for pk in parent_pks - {_UNKNOWN}]
    if _tracked[model]:
        _remember_parents(model, instance)
    return keys


def _on_row_change(sender: ModelClass, instance: models.Model, using: str, **kwargs: Any) -> None:
    """Bump the row's versions once the transaction commits."""
    # The keys are taken now: after a delete, Django clears the instance's primary key.
    bump_keys_on_commit(_row_keys(sender, instance), using=using)


def _on_m2m_change(
    sender: ModelClass,
    instance: models.Model,
    action: str,
    model: ModelClass,
    pk_set: set[Any] | None,
    using: str,
    **kwargs: Any,
) -> None:
    """Bump both ends of a changed many-to-many relation, their models and the rows linked or unlinked."""
    if action not in M2M_ACTIONS:
        return
    keys: list[str] = []
    if type(instance) in _tracked:
        keys += [version_key(type(instance)), object_version_key(type(instance), instance.pk)]
    if model in _tracked:
        keys.append(version_key(model))
        # clear() does not say which rows it unlinked: every row of the other side is rebuilt.
        if pk_set is None:
            keys.append(objects_generation_key(model))
        else:
            keys += [object_version_key(model, pk) for pk in pk_set]
    if keys:
        bump_keys_on_commit(keys, using=using)


def _new_version(lsn: int = 0) -> int:
    """Return a fresh version carrying the WAL position ``lsn``; random, so two processes never pick the same one."""
    return (lsn << RANDOM_BITS) | secrets.randbits(RANDOM_BITS)


def written_lsn(versions: Versions) -> int:
    """Return the primary's WAL position a rebuild from these versions must see: the highest they carry, 0 if none."""
    return max((version >> RANDOM_BITS for version in versions), default=0)


def bump_versions(*model_classes: ModelClass) -> bool:
    """Give each model new versions, so every cached response that shows any of its rows is rebuilt.

    Return whether the bump reached the cache; one that did not is retried until it does.
    """
    return bump_keys(model_wide_keys(model_classes))


def bump_versions_on_commit(*model_classes: ModelClass, using: str | None = None) -> None:
    """Bump the models' versions when the current transaction commits, or at once outside a transaction.

    Writes that send no signals (``QuerySet.update()``, ``bulk_create()``) call this themselves.
    """
    bump_keys_on_commit(model_wide_keys(model_classes), using=using)


def bump_keys_on_commit(keys: Collection[str], *, using: str | None = None) -> None:
    """Bump these version keys when the current transaction commits, or at once outside a transaction.

    The keys of every bump asked for in a row in one transaction go out together: one bump, one cache round trip.
    """
    on_commit_merged(bump_keys, keys, using=using)


def bump_keys(keys: Collection[str]) -> bool:
    """Give each version key a new random version; return whether that landed, keeping it for a retry if not."""
    if _set_versions(keys):
        return True
    _keep_pending(keys)
    return False


def _set_versions(keys: Collection[str]) -> bool:
    """Write new versions for the keys and return whether the cache holds them now."""
    try:
        # After the commit, so the position covers the write; read once per bump.
        lsn = primary_lsn()
    except DatabaseError:
        # Without it, the new versions could let a rebuild read a replica that lacks the write: not landed.
        logger.warning("Cache invalidation did not land (no WAL position); it will be retried", exc_info=True)
        return False
    versions = {key: _new_version(lsn) for key in keys}
    try:
        if not replication.set_versions(versions):
            return False
        # django-redis with IGNORE_EXCEPTIONS drops a failed write silently (server down, out of memory, CLIENT PAUSE
        # WRITE), and what set_many returns differs by backend: reading the versions back is the portable check.
        # A concurrent bump of the same key reads as a failure too; the retry then only invalidates once more.
        if cache.get_many(list(versions)) != versions:
            return False
        if settings.API_LOCAL_CACHE:
            # Only once the bump landed: published before, a worker could read the old versions again after the
            # message and keep them. A publish that fails leaves the bump pending, and its retry publishes again.
            local.publish(versions)
        # After the bump, so whatever the edge fetches once it has purged is built from the new versions.
        edge.purge(surrogate_keys(keys))
    except Exception:
        # Any backend error means the same thing here: the bump did not land.
        logger.warning("Cache invalidation did not land; it will be retried", exc_info=True)
        return False
    # Robust: a receiver's error is logged (by Django) and never undoes a bump that landed.
    versions_bumped.send_robust(sender=None, keys=frozenset(keys))
    return True


def _keep_pending(keys: Collection[str]) -> None:
    """Record a bump the cache refused, and make sure this process retries it."""
    try:
        PendingInvalidation.objects.create(keys=sorted(keys))
    except DatabaseError:
        # Nowhere left to keep it: the entries' lifetime bounds how long it can serve stale data.
        logger.exception("Cache invalidation lost: neither the cache nor the database took it")
        return
    _start_retry_thread()


def land_pending_bumps(*, batch: int = RETRY_BATCH) -> bool:
    """Retry the pending bumps, oldest first, a batch per cache round trip; return whether none is left.

    Two processes may land the same rows at once: each gives the keys yet another random version, which only
    invalidates again, and deleting the rows twice deletes them once.
    """
    while True:
        rows = list(PendingInvalidation.objects.order_by("id").values_list("id", "keys")[:batch])
        if not rows:
            return True
        if not _set_versions({key for _, keys in rows for key in keys}):
            return False
        # By id: a bump recorded since the read above stays pending until its own retry.
        PendingInvalidation.objects.filter(id__in=[row_id for row_id, _ in rows]).delete()
        if len(rows) < batch:
            return True


def pending_bumps() -> PendingSummary:
    """Return how many bumps still wait for the cache, and how old the oldest is."""
    summary = PendingInvalidation.objects.aggregate(count=Count("id"), oldest=Min("created_at"))
    age = timezone.now() - summary["oldest"] if summary["oldest"] else timedelta()
    return PendingSummary(summary["count"], max(0.0, age.total_seconds()))


_retry_lock = threading.Lock()
_retry_thread: threading.Thread | None = None
_retry_wanted = False


def _start_retry_thread() -> None:
    """Start this process's retry thread unless it runs already; tell it a new bump is pending either way."""
    global _retry_thread, _retry_wanted
    with _retry_lock:
        _retry_wanted = True
        # is_alive(): a forked worker inherits the parent's Thread object, not the thread.
        if _retry_thread is None or not _retry_thread.is_alive():
            _retry_thread = threading.Thread(target=_retry_loop, name="cache-invalidation-retry", daemon=True)
            _retry_thread.start()


def _retry_loop() -> None:
    """Land pending bumps, backing off while the cache refuses them; end when none is left."""
    delay = RETRY_FIRST_DELAY
    while not _retry_done():
        time.sleep(delay)
        try:
            landed = land_pending_bumps()
        except DatabaseError:
            logger.warning("Pending cache invalidations cannot be read; retrying", exc_info=True)
            landed = False
        finally:
            # Between passes the thread holds no connection: with a pool, it would take one from the requests.
            connections.close_all()
        delay = RETRY_FIRST_DELAY if landed else min(delay * 2, RETRY_MAX_DELAY)


def _retry_done() -> bool:
    """Return True, and forget this thread, once a pass found nothing pending and nothing was recorded since."""
    global _retry_thread, _retry_wanted
    with _retry_lock:
        # Race: a bump recorded after the last pass but before this check set _retry_wanted, so one more pass runs;
        # one recorded after this check finds no thread and starts a new one.
        if _retry_wanted:
            _retry_wanted = False
            return False
        _retry_thread = None
        return True


def read_entry(key: str, version_keys: Sequence[str]) -> Lookup:
    """Return the entry if it is still current, the current versions, and an outdated 200 kept for errors.

    With ``settings.API_LOCAL_CACHE`` a current entry this process holds (core.toolkit.local) costs no round trip, and
    a current entry read from the cache is kept in the process; otherwise one round trip once the versions exist.
    """
    if not settings.API_LOCAL_CACHE:
        return _read_shared(key, version_keys)
    entry = local.get(key, version_keys)
    if entry is not None:
        return Lookup(entry, entry.versions, None)
    # Taken before the read, so a bump applied between the read and the local store is noticed (local.put).
    read_token = local.token()
    lookup = _read_shared(key, version_keys)
    if lookup.entry is not None:
        local.put(read_token, key, version_keys, lookup.entry)
    return lookup


def _read_shared(key: str, version_keys: Sequence[str]) -> Lookup:
    """Return what the shared cache holds: the entry and its versions in one ``get_many`` once the versions exist."""
    found = cache.get_many([key, *version_keys])
    missing = [name for name in version_keys if name not in found]
    if missing:
        # A new dict: on an unreachable server django-redis returns one shared {} for every failed get_many.
        found = {**found, **_first_versions(missing)}
    versions = tuple(found[name] for name in version_keys)
    entry = found.get(key)
    if not isinstance(entry, CachedResponse):
        return Lookup(None, versions, None)
    if entry.versions == versions and entry.expires > time.time():
        return Lookup(entry, versions, None)
    return Lookup(None, versions, entry if entry.status == 200 else None)


def _first_versions(keys: list[str]) -> dict[str, int]:
    """Return versions for keys the cache lost (a flush, an eviction): the same ones every process reading them gets.

    Race: processes that miss the same key at once each propose a version, ``add`` keeps the first, and all read that
    one back; with versions of their own, each would build and wait for an entry none of the others can use.
    """
    try:
        lsn = primary_lsn()
    except DatabaseError:
        # Versions kept without the primary's position could let rebuilds read a stale replica: these serve this
        # request alone, and its rebuild reads the primary.
        logger.warning("Versions not recreated: the primary's WAL position cannot be read", exc_info=True)
        return {name: _new_version(UNKNOWN_LSN) for name in keys}
    proposed = {name: _new_version(lsn) for name in keys}
    for name, version in proposed.items():
        cache.add(name, version, timeout=None)
    kept = cache.get_many(keys)
    # An unreachable cache keeps nothing: the proposals then serve this request alone.
    return {name: kept.get(name, version) for name, version in proposed.items()}


def etag_for(body: bytes) -> str:
    """Return a strong ETag for the rendered bytes.

    A digest of the body rather than of the versions: a write that leaves this response unchanged (a comment on an
    article that is not on this page) keeps every client's copy valid.
    """
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def store_entry(
    key: str, versions: Versions, status: int, body: bytes, ttl: int, *, stale_for: int = 0
) -> CachedResponse:
    """Store a rendered response, current for ``ttl`` seconds give or take a jitter, kept ``stale_for`` more."""
    entry, timeout = _new_entry(versions, status, body, ttl, stale_for)
    cache.set(key, entry, timeout=timeout)
    return entry


def _new_entry(versions: Versions, status: int, body: bytes, ttl: int, stale_for: int) -> tuple[CachedResponse, int]:
    """Return a new entry, current for ``ttl`` seconds give or take a jitter, and how long the cache keeps it."""
    # Jitter spreads the expiry of entries built together, so they are not all rebuilt in the same second.
    lifetime = max(1, round(ttl * random.uniform(1 - TTL_JITTER, 1 + TTL_JITTER)))  # noqa: S311
    return CachedResponse(versions, status, etag_for(body), body, time.time() + lifetime), lifetime + stale_for


def store_and_unlock(
    key: str, versions: Versions, status: int, body: bytes, ttl: int, *, stale_for: int = 0
) -> CachedResponse:
    """Store a rendered response as ``store_entry`` does and release its rebuild lock, in one round trip on Redis."""
    entry, timeout = _new_entry(versions, status, body, ttl, stale_for)
    client = getattr(cache, "client", None)
    if not isinstance(client, DefaultClient) or isinstance(client, ShardClient):
        cache.set(key, entry, timeout=timeout)
        cache.delete(key + LOCK_SUFFIX)
        return entry
    try:
        pipeline = client.get_client(write=True).pipeline(transaction=False)
        pipeline.set(client.make_key(key), client.encode(entry), px=timeout * 1000)
        pipeline.delete(client.make_key(key + LOCK_SUFFIX))
        pipeline.execute()
    except REDIS_ERRORS:
        # As django-redis's own IGNORE_EXCEPTIONS: an unreachable cache costs the entry, never the response.
        if not getattr(cache, "_ignore_exceptions", False):
            raise
        logger.warning("The cache did not take a rebuilt entry", exc_info=True)
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
        if isinstance(entry, CachedResponse) and entry.versions == versions and entry.expires > time.time():
            return entry
    return None
