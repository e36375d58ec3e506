"""A process-local layer in front of the shared cache (``settings.API_LOCAL_CACHE``), kept coherent over Redis pub/sub.

Each worker process keeps the entries it read most recently in memory, with a local copy of the versions they were
checked against, and serves a hit without a Redis round trip. The protocol:

1. **Publish.** A bump that landed in Redis (``caching._set_versions`` read it back) publishes the names of the keys
   it changed on one channel, and drops them from this process's own copy at once, so a worker reads its own
   writes. A publish that fails counts as a bump that did not land: it is kept and retried, publish included.
2. **Subscribe.** Each process runs one subscriber thread, started lazily on first use *in that process* (a pid
   that differs from the one that started it means a fork: a fresh layer, a fresh thread). gunicorn.conf.py loads
   the application in the master before forking (``preload_app``), and the master reads no entry; a worker that
   inherited a layer anyway tells it apart by the pid. A message drops the named keys from the local copy of the
   versions, so every entry checked against them misses locally.
3. **Health.** The subscription is healthy from Redis's confirmation of the SUBSCRIBE until any error, a dropped
   connection, or a ping not answered within ``CONFIRM_SECONDS``. Every change of health drops all local state and
   starts a new epoch. Redis delivers a connection's messages in order, so a pong answering a ping sent at ``t``
   means every bump published before ``t`` has been applied: a local hit is served only while such a pong is fresher
   than ``CONFIRM_SECONDS``, only while the subscription has been healthy since the entry was stored, and not while
   data waits unread on the subscription's socket (a message the thread has not applied yet).
4. **Fill.** A read that misses locally goes the Redis path (``caching.read_entry``). Before it, it takes a token
   (the epoch and the count of messages applied); a current entry it finds is stored locally only if the token is
   unchanged, under the same lock the subscriber applies messages with.

Races, and where each is handled:

- *A bump published between a Redis read and the local store of its versions*: the message counter of the token
  has moved, so the store is skipped (``put``); had the message been applied before the token, the read saw the
  new versions.
- *A reconnect*: messages published while disconnected are lost, so a disconnect drops every local entry and
  version and moves the epoch; a token from before it cannot store anything. redis-py's own silent reconnection is
  turned off for the subscription, so every disconnect reaches the thread.
- *A Redis FLUSH (or an eviction) of the versions*: they vanish without a message, and the Redis path re-creates
  them (``caching._first_versions``). The local copy of the old ones stays right: only a bump changes what a version
  stands for, and every landed bump publishes after it landed.

A local hit can thus be stale only for the time a landed bump's message takes to reach the worker's socket, plus
the moment between the thread reading it and applying it (measured by ``make bench-local``). Only django-redis has
pub/sub: the settings refuse the layer on any other cache.
"""

import logging
import os
import select
import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, cast

import orjson
from django.conf import settings
from django.core.cache import cache
from django_redis.client import DefaultClient
from redis import Redis
from redis.backoff import NoBackoff
from redis.client import PubSub
from redis.connection import AbstractConnection
from redis.retry import Retry

if TYPE_CHECKING:
    from _typeshed import HasFileno

logger = logging.getLogger(__name__)

CHANNEL = "local-cache:versions"
# The subscriber pings this often, and a local hit needs a pong to a ping sent within CONFIRM_SECONDS: the most a
# subscription that died silently (a network partition with no reset) can serve stale hits for.
PING_SECONDS = 0.5
CONFIRM_SECONDS = 2.0
# After a failed subscription the thread retries at once, then backs off to a few seconds while Redis stays away.
RECONNECT_FIRST_DELAY = 0.1
RECONNECT_MAX_DELAY = 4.0
# The local copy of the versions is emptied when it grows past this many keys per entry the layer may hold.
VERSIONS_PER_ENTRY = 4


class Entry(Protocol):
    """What the layer needs of a cached response (``caching.CachedResponse``)."""

    @property
    def versions(self) -> tuple[int, ...]: ...
    @property
    def body(self) -> bytes: ...
    @property
    def expires(self) -> float: ...


class Token(NamedTuple):
    """The layer's state before a Redis read: its epoch and how many messages it had applied."""

    epoch: int
    messages: int


class _Layer:
    """One process's local entries and versions, and its subscriber thread."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.epoch = 0
        self.messages = 0
        self.healthy = False
        self.confirmed = 0.0  # time.monotonic() at which the last answered ping was sent
        self.unread: select.poll | None = None  # polls the subscription's socket for messages not yet applied
        self.versions: dict[str, int] = {}
        self.entries: OrderedDict[str, Any] = OrderedDict()
        self.bytes = 0
        self.thread = threading.Thread(target=_subscribe_loop, args=(self,), name="local-cache", daemon=True)

    def serving(self) -> bool:
        """Return whether local state may answer now (call with the lock held)."""
        if not self.healthy or time.monotonic() - self.confirmed > CONFIRM_SECONDS:
            return False
        # A message may have reached this process while the subscriber thread waits for the CPU or the GIL (tens of
        # milliseconds on a busy machine): while one waits unread, the request goes to Redis. One poll(), about a
        # microsecond.
        return self.unread is None or not self.unread.poll(0)

    def reset(self, *, healthy: bool, confirmed: float = 0.0, unread: "select.poll | None" = None) -> None:
        """Drop every local entry and version and start a new epoch (call with the lock held)."""
        self.epoch += 1
        self.healthy = healthy
        self.confirmed = confirmed
        self.unread = unread
        self.versions.clear()
        self.entries.clear()
        self.bytes = 0

    def forget(self, keys: Collection[str]) -> None:
        """Drop these versions from the local copy and count the message (call with the lock held)."""
        for key in keys:
            self.versions.pop(key, None)
        self.messages += 1

    def store(self, key: str, version_keys: Sequence[str], entry: Entry) -> None:
        """Keep the entry and its versions, evicting the least recently used past the bounds (lock held)."""
        size = len(entry.body)
        max_entries, max_bytes = settings.API_LOCAL_CACHE_MAX_ENTRIES, settings.API_LOCAL_CACHE_MAX_BYTES
        if size > max_bytes or max_entries < 1:
            return
        previous = self.entries.pop(key, None)
        if previous is not None:
            self.bytes -= len(previous.body)
        self.entries[key] = entry
        self.bytes += size
        while len(self.entries) > max_entries or self.bytes > max_bytes:
            _, evicted = self.entries.popitem(last=False)
            self.bytes -= len(evicted.body)
        # Versions are shared by entries, not counted per entry: past the bound all go, and the entries refill.
        if len(self.versions) + len(version_keys) > max_entries * VERSIONS_PER_ENTRY:
            self.versions.clear()
        self.versions.update(zip(version_keys, entry.versions, strict=True))


_layer: _Layer | None = None
_layer_lock = threading.Lock()


def _current() -> _Layer:
    """Return this process's layer, starting its subscriber on first use after start-up or a fork."""
    global _layer
    layer = _layer
    if layer is not None and layer.pid == os.getpid():
        return layer
    with _layer_lock:
        # A forked worker inherits the parent's layer object but not its thread: the pid tells them apart.
        if _layer is None or _layer.pid != os.getpid():
            _layer = _Layer()
            _layer.thread.start()
        return _layer


def get(key: str, version_keys: Sequence[str]) -> Any:
    """Return the local entry for the key if it is current against the local versions, else None."""
    layer = _current()
    with layer.lock:
        if not layer.serving():
            return None
        entry = layer.entries.get(key)
        if entry is None or entry.expires <= time.time():
            return None
        if entry.versions != tuple(layer.versions.get(name) for name in version_keys):
            return None
        layer.entries.move_to_end(key)
        return entry


def token() -> Token | None:
    """Return the layer's state before a Redis read, or None when a local copy must not be taken now."""
    layer = _current()
    with layer.lock:
        return Token(layer.epoch, layer.messages) if layer.serving() else None


def put(read_token: Token | None, key: str, version_keys: Sequence[str], entry: Entry) -> bool:
    """Keep a current entry the Redis path read, unless anything changed since the token; return whether it did."""
    if read_token is None:
        return False
    layer = _current()
    with layer.lock:
        # Race: a message applied since the token may be a bump of these versions published after the Redis read
        # saw the old ones; storing them now would keep them past their message. Skip: the next read refills.
        if not layer.serving() or read_token != Token(layer.epoch, layer.messages):
            return False
        layer.store(key, version_keys, entry)
        return True


def publish(keys: Collection[str]) -> None:
    """Tell every process these version keys changed, and forget them here at once; raise if Redis refused."""
    layer = _current()
    with layer.lock:
        layer.forget(keys)
    _redis().publish(channel(), orjson.dumps(sorted(keys)))


def channel() -> str:
    """Return the channel of this cache's bumps: pub/sub ignores databases and key prefixes, so it names both."""
    db = _redis().connection_pool.connection_kwargs.get("db", 0)
    return f"{cache.make_key(CHANNEL)}@{db}"


def stop() -> None:
    """Stop this process's subscriber and drop the layer; the next use starts a fresh one (tests)."""
    global _layer
    with _layer_lock:
        layer, _layer = _layer, None
    if layer is not None and layer.pid == os.getpid():
        layer.stopped.set()
        layer.thread.join(timeout=CONFIRM_SECONDS + 1)


def stats() -> dict[str, int]:
    """Return how many entries and body bytes this process holds, and whether it serves local hits now (1 or 0)."""
    layer = _current()
    with layer.lock:
        return {"entries": len(layer.entries), "bytes": layer.bytes, "serving": int(layer.serving())}


def _redis() -> Redis:
    """Return the raw Redis client of the default cache."""
    client = getattr(cache, "client", None)
    if not isinstance(client, DefaultClient):
        raise TypeError("the process-local cache layer needs django-redis: its invalidations arrive by pub/sub")
    redis: Redis = client.get_client(write=True)
    return redis


def _subscribe_loop(layer: _Layer) -> None:
    """Keep the layer subscribed until it is stopped, dropping all local state whenever the subscription fails."""
    delay = RECONNECT_FIRST_DELAY
    while not layer.stopped.is_set():
        was_healthy = False
        try:
            _listen(layer)
        except Exception as exc:
            with layer.lock:
                was_healthy = layer.healthy
                layer.reset(healthy=False)
            # Once per outage: the retries of a Redis that stays away would log every few seconds.
            (logger.warning if was_healthy else logger.debug)("Local cache layer off until Redis is back: %s", exc)
        delay = RECONNECT_FIRST_DELAY if was_healthy else min(delay * 2, RECONNECT_MAX_DELAY)
        layer.stopped.wait(delay)
    with layer.lock:
        layer.reset(healthy=False)


def _listen(layer: _Layer) -> None:
    """Subscribe, then apply messages and pongs until the layer stops; raise when the subscription is not healthy."""
    pubsub: PubSub = _redis().pubsub()  # type: ignore[no-untyped-call]
    subscribed_at = pinged_at = time.monotonic()
    try:
        pubsub.subscribe(channel())
        # Typed as None by redis-py, which sets it only once subscribe() has taken a connection.
        connection = cast("AbstractConnection", pubsub.connection)
        # redis-py reconnects a subscription by itself and subscribes again, silently: the messages published in
        # between would be lost while the local state stays. Without retries every error reaches this thread.
        retry, connection.retry = connection.retry, Retry(NoBackoff(), 0)
        try:
            unread = _poller(connection)
            while not layer.stopped.is_set():
                message = pubsub.get_message(timeout=PING_SECONDS)
                if message is not None:
                    _apply(layer, message, subscribed_at, unread)
                now = time.monotonic()
                if now - pinged_at >= PING_SECONDS:
                    pubsub.ping(repr(now))
                    pinged_at = now
                _check_answered(layer, now, subscribed_at)
        finally:
            # The connection goes back to the pool for ordinary commands, which do retry.
            connection.retry = retry
    finally:
        pubsub.close()


def _check_answered(layer: _Layer, now: float, subscribed_at: float) -> None:
    """Raise if Redis has not confirmed the subscription, or answered a ping, within ``CONFIRM_SECONDS``."""
    with layer.lock:
        since = layer.confirmed if layer.healthy else subscribed_at
    if now - since > CONFIRM_SECONDS:
        raise TimeoutError(f"Redis did not answer the subscriber within {CONFIRM_SECONDS} s")


def _poller(connection: AbstractConnection) -> select.poll:
    """Return a poll object telling whether data waits on the connection's socket."""
    poller = select.poll()
    # redis-py keeps the socket private (typed None until connected); a poll() of it reads nothing.
    socket = cast("HasFileno", connection._sock)
    poller.register(socket, select.POLLIN)
    return poller


def _apply(layer: _Layer, message: dict[str, Any], subscribed_at: float, unread: select.poll) -> None:
    """Apply one message of the subscription: a confirmed subscribe, a pong, or the keys of a bump."""
    kind = message["type"]
    with layer.lock:
        if kind == "subscribe":
            # Messages published before this confirmation were missed: the local state starts empty from here.
            layer.reset(healthy=True, confirmed=subscribed_at, unread=unread)
        elif kind == "pong":
            layer.confirmed = max(layer.confirmed, float(message["data"]))
        elif kind == "message":
            layer.forget(orjson.loads(message["data"]))
