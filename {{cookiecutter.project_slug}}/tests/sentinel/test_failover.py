"""The Redis primary killed under reads and writes: no error but the requests in flight, no stale read past the bound.

1. Four readers (six articles' details, the probe article's, the list) and a writer (retitling the six) load gunicorn
   for WARM_SECONDS; then the probe's detail and the list are read, so their entries are cached, current, replicated.
2. Replication is cut (the replica's user is turned off; primary and replica stay up, the sentinels see both), and
   the probe is retitled: its bump, and the writer's, reach no replica, so ``WAIT`` keeps them pending
   (core/toolkit/replication.py) while this primary serves them. /health/ reports them.
3. The primary is killed with SIGKILL. The sentinels promote the replica, which never got those bumps: the entries
   built before them are current again there. That is what a failover loses; the retry of pending bumps repairs it.
4. The load goes on AFTER_PROMOTION_SECONDS while the pending bumps are watched in the database.

Measured: the 5xx and unanswered requests (none allowed but those in flight at the kill: started before it, ended
after), the seconds until the sentinels named the new primary and until a read started after that was a hit of the
shared cache, and every stale read: one showing an article's title from before a write whose 2xx came before the read
started. Stale reads may only start after the kill, and at most ``STALE_BOUND_SECONDS`` after the later of the
promotion and that write's 2xx: the retry thread's longest sleep (``RETRY_MAX_DELAY``) and one pass. (After the
promotion a bump can still miss its first try, a concurrent bump of the same key for one, and its retry bounds it.)
Without ``WAIT`` nothing is pending, and the new primary holds the probe's version from before its write: the control,
which shows the failover loses a bump. (Whether that loss is then read is luck: a worker that misses once while it
reconnects rebuilds the probe from the database under the old version, which repairs it.)
"""

import time
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from api.models import Article
from core.toolkit.caching import RETRY_MAX_DELAY, object_version_key
from tests.sentinel.conftest import World
from tests.sentinel.load import Exchange, Load, Recorder, StaleRead, stale_reads

pytestmark = pytest.mark.sentinel

WARM_SECONDS = 2.0
CUT_SECONDS = 1.0
PROMOTION_SECONDS = 20.0
AFTER_PROMOTION_SECONDS = 8.0
DRAIN_SECONDS = 20.0
# A retry pass after the retry thread's longest sleep: a batch of bumps, its WAIT timeout, a sentinel query.
RETRY_PASS_SECONDS = 1.0
STALE_BOUND_SECONDS = RETRY_MAX_DELAY + RETRY_PASS_SECONDS
POLL_SECONDS = 0.02
READER_ARTICLES = 6
LIST = "/api/articles/?page_size=50"
WITH_WAIT = [{"DJANGO_API_LOCAL_CACHE": "off"}, {"DJANGO_API_LOCAL_CACHE": "on"}]


@dataclass(frozen=True)
class ProbeVersions:
    """The probe's object version in Redis before and after its write, and on the new primary at promotion and end."""

    before: bytes | None
    written: bytes | None
    promoted: bytes | None
    final: bytes | None


@dataclass
class Failover:
    """What one failover under load recorded, with the moments (time.monotonic()) of the kill and the promotion."""

    recorder: Recorder
    probe: int
    probe_acknowledged: bool
    pending_during_cut: bool
    killed_at: float
    promoted_at: float
    drained_at: float | None
    versions: ProbeVersions

    def failed(self) -> list[Exchange]:
        """Return the exchanges answered with a 5xx or not at all."""
        return [exchange for exchange in self.recorder.exchanges if exchange.status is None or exchange.status >= 500]

    def in_flight(self, exchange: Exchange) -> bool:
        """Return whether the exchange was in flight at the kill."""
        return exchange.started < self.killed_at < exchange.ended

    def first_hit(self) -> Exchange | None:
        """Return the first read started after the promotion that the shared cache answered."""
        hits = [read for read in self.recorder.exchanges if read.hit and read.started >= self.promoted_at]
        return min(hits, key=lambda read: read.started, default=None)

    def stale(self) -> list[StaleRead]:
        """Return every stale read."""
        return stale_reads(self.recorder.exchanges, self.recorder.writes)

    def past_bound(self, read: StaleRead) -> float:
        """Return how long after the later of the promotion and the missed write's 2xx the stale read started."""
        return read.started - max(self.promoted_at, read.started - read.seconds)

    def figures(self, variables: dict[str, str]) -> dict[str, Any]:
        """Return the figures to print."""
        failed, stale, hit = self.failed(), self.stale(), self.first_hit()
        return {
            **variables,
            "requests": len(self.recorder.exchanges),
            "writes acknowledged": len(self.recorder.writes),
            "5xx or no answer": len(failed),
            "of them in flight at the kill": sum(self.in_flight(exchange) for exchange in failed),
            "promoted after (s)": round(self.promoted_at - self.killed_at, 2),
            "shared-cache hits again after the kill (s)": round(hit.ended - self.killed_at, 2) if hit else None,
            "stale reads": len(stale),
            "max stale (s after the write's 2xx)": round(max((read.seconds for read in stale), default=0.0), 2),
            "last stale read (s after the promotion)": (
                round(max(read.started for read in stale) - self.promoted_at, 2) if stale else None
            ),
            "max stale after the later of the promotion and the write's 2xx (s)": round(
                max((self.past_bound(read) for read in stale), default=0.0), 2
            ),
            "pending bumps drained (s after the promotion)": (
                round(self.drained_at - self.promoted_at, 2) if self.drained_at else None
            ),
        }


@pytest.mark.parametrize("world", WITH_WAIT, indirect=True, ids=["local-cache-off", "local-cache-on"])
def test_the_primary_killed_under_load_costs_no_error_and_no_stale_read_past_the_bound(
    world: World, failover_figures: list[dict[str, Any]]
) -> None:
    failover = fail_over(world)
    failover_figures.append(failover.figures(world.variables))

    assert failover.probe_acknowledged
    assert failover.pending_during_cut
    assert all(failover.in_flight(exchange) for exchange in failover.failed()), failover.figures({})
    assert failover.first_hit() is not None, "no shared-cache hit after the promotion"
    stale = failover.stale()
    assert all(read.started >= failover.killed_at for read in stale), failover.figures({})
    assert all(failover.past_bound(read) <= STALE_BOUND_SECONDS for read in stale), failover.figures({})
    assert failover.drained_at is not None, "the pending bumps did not land on the new primary"
    assert failover.versions.written != failover.versions.before
    assert failover.versions.final not in (failover.versions.before, None), "the probe's bump was never landed again"


@pytest.mark.parametrize("world", [{"DJANGO_REDIS_WAIT_REPLICAS": "0"}], indirect=True, ids=["wait-off"])
def test_without_wait_the_new_primary_holds_the_version_the_probe_write_replaced_to_the_end(
    world: World, failover_figures: list[dict[str, Any]]
) -> None:
    failover = fail_over(world)
    failover_figures.append(failover.figures(world.variables))

    assert failover.probe_acknowledged
    assert not failover.pending_during_cut
    assert failover.versions.before is not None
    assert failover.versions.written != failover.versions.before
    # The loss: every entry built from the probe's old row is current again on the new primary, and nothing repairs it.
    assert failover.versions.promoted == failover.versions.before
    assert failover.versions.final == failover.versions.before


def fail_over(world: World) -> Failover:
    """Run steps 1 to 4 and return what they recorded."""
    seeded = world.seeded
    articles = seeded["articles"][:READER_ARTICLES]
    probe = f"/api/articles/{seeded['probe']}/"
    recorder = Recorder(world.port)
    paths = [*(f"/api/articles/{pk}/" for pk in articles), probe, LIST]
    load = Load(recorder, paths, articles, seeded["writer_token"])
    load.start()
    try:
        time.sleep(WARM_SECONDS)
        recorder.read(probe), recorder.read(LIST)
        before = _probe_version(world, world.topology.primary)
        world.topology.cut_replication()
        probe_write = recorder.retitle(seeded["probe"], seeded["prober_token"])
        written = _probe_version(world, world.topology.primary)
        _, health = recorder.fetch("/health/")
        time.sleep(CUT_SECONDS)
        killed_at = time.monotonic()
        world.topology.kill_primary()
        promoted_at = _promotion(world)
        promoted = _probe_version(world, world.topology.replica)
        drained_at = _drained(world, since=killed_at, until=promoted_at + AFTER_PROMOTION_SECONDS)
        final = _probe_version(world, world.topology.replica)
    finally:
        load.end()
    pending = bool(health and health.get("pending_invalidations"))
    versions = ProbeVersions(before, written, promoted, final)
    acknowledged = probe_write.status == 200
    return Failover(recorder, seeded["probe"], acknowledged, pending, killed_at, promoted_at, drained_at, versions)


def _probe_version(world: World, port: int) -> bytes | None:
    """Return the probe's object version as the Redis server on ``port`` holds it, None if it holds none."""
    client = world.topology.client(port)
    # Matched by its end: the key carries the settings' prefix and cache version in front.
    keys = list(client.scan_iter(match=f"*:{object_version_key(Article, world.seeded['probe'])}", count=1000))
    assert len(keys) <= 1, keys
    value = client.get(keys[0]) if keys else None
    assert value is None or isinstance(value, bytes)
    return value


def _promotion(world: World) -> float:
    """Return when the sentinels first named the replica as the primary; fail if they do not within the bound."""
    deadline = time.monotonic() + PROMOTION_SECONDS
    while time.monotonic() < deadline:
        if world.topology.primary_port() == world.topology.replica:
            return time.monotonic()
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"the sentinels did not promote the replica within {PROMOTION_SECONDS:.0f} s")


def _drained(world: World, *, since: float, until: float) -> float | None:
    """Return when the database first held no pending bump after ``since``; keep watching until ``until`` at least.

    Read in the database, not through /health/: the health check lands pending bumps itself, and would hide how long
    the retry thread takes.
    """
    drained_at = None
    with psycopg.connect(world.database_url, autocommit=True) as connection:
        while time.monotonic() < until or (drained_at is None and time.monotonic() < until + DRAIN_SECONDS):
            count = connection.execute("SELECT count(*) FROM core_pendinginvalidation").fetchone()
            if drained_at is None and count == (0,) and time.monotonic() > since:
                drained_at = time.monotonic()
            time.sleep(POLL_SECONDS * 5)
    return drained_at
