"""The edge's rules (deploy/varnish/default.vcl), checked on real varnishd in front of a stub backend.

A response body names which fetch of its path it is, so a test tells an answer from the edge's store (the same
fetch again) from a new fetch, besides reading X-Cache.
"""

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.edge.conftest import OUTSIDER, Edge, Reply, Response, edge_in_front, stub_backend

pytestmark = pytest.mark.varnish

# Public reads that expire at once (max-age 1 s) and may then be served stale only while the backend is sick.
EXPIRING = "max-age=1, stale-while-revalidate=0, stale-if-error=60"


def test_public_read_is_a_miss_then_a_hit(edge: Edge, path: str) -> None:
    edge.backend.public(path, keys="api.article")

    first, second = edge.get(path), edge.get(path)

    assert (first.cache, second.cache) == ("MISS", "HIT")
    assert second.body == first.body == f"{path} fetch 1"
    assert edge.backend.count(path) == 1


def test_public_read_head_is_answered_from_the_stored_get(edge: Edge, path: str) -> None:
    edge.backend.public(path)
    edge.get(path)

    assert edge.request("HEAD", path).cache == "HIT"
    assert edge.backend.count(path) == 1


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": "Token abc"}, {"Cookie": "sessionid=abc"}, {"Cookie": "csrftoken=x; sessionid=abc"}],
    ids=["authorization", "session-cookie", "session-among-cookies"],
)
def test_signed_in_request_is_never_a_hit(edge: Edge, path: str, headers: dict[str, str]) -> None:
    edge.backend.public(path)
    assert edge.get(path).cache == "MISS"
    assert edge.get(path).cache == "HIT"

    signed_in = [edge.get(path, headers), edge.get(path, headers)]

    assert [answer.cache for answer in signed_in] == ["MISS", "MISS"]
    assert [answer.body for answer in signed_in] == [f"{path} fetch 2", f"{path} fetch 3"]
    # Nor was what they got stored in place of the anonymous copy.
    assert edge.get(path).body == f"{path} fetch 1"


def test_signed_in_answer_is_not_stored(edge: Edge, path: str) -> None:
    edge.backend.public(path)
    edge.get(path, {"Authorization": "Token abc"})

    assert edge.get(path).cache == "MISS"
    assert edge.backend.count(path) == 2


def test_csrftoken_cookie_alone_does_not_prevent_a_hit(edge: Edge, path: str) -> None:
    edge.backend.public(path)
    # Django varies on Cookie whenever a view touched the session or the CSRF token.
    edge.backend.replies[path].headers["Vary"] = "Cookie"
    edge.get(path, {"Cookie": "csrftoken=first"})

    again = edge.get(path, {"Cookie": "csrftoken=second"})

    assert again.cache == "HIT"
    assert edge.backend.count(path) == 1


@pytest.mark.parametrize(
    "reply",
    [
        Reply(headers={"Cache-Control": "private, max-age=600"}),
        Reply(headers={"Cache-Control": "max-age=600"}),
        Reply(status=404, headers={"Surrogate-Control": "max-age=3600", "xkey": "api.article:1"}),
        Reply(headers={"Surrogate-Control": "max-age=3600", "Set-Cookie": "csrftoken=x; Path=/"}),
    ],
    ids=["private", "cache-control-only", "not-found", "sets-a-cookie"],
)
def test_response_without_surrogate_control_or_not_ok_is_never_stored(edge: Edge, path: str, reply: Reply) -> None:
    edge.backend.replies[path] = reply

    answers = [edge.get(path) for _ in range(3)]

    assert [answer.cache for answer in answers] == ["MISS"] * 3
    assert edge.backend.count(path) == 3


def test_protocol_headers_never_reach_the_client(edge: Edge, path: str) -> None:
    edge.backend.public(path, keys="api.article api.article:42")

    for answer in (edge.get(path), edge.get(path)):
        assert answer.status == 200
        for name in ("xkey", "Surrogate-Control", "X-Edge-Stale-Limit"):
            assert name not in answer.headers
        # The app's own Cache-Control, for browsers, passes through.
        assert answer.headers["Cache-Control"] == "max-age=0"


def test_purge_removes_exactly_the_objects_with_its_key(edge: Edge, path: str) -> None:
    tagged, other = f"{path}tagged/", f"{path}other/"
    edge.backend.public(tagged, keys=f"{path}.article {path}.article:1")
    edge.backend.public(other, keys=f"{path}.author")
    edge.get(tagged), edge.get(other)

    purge = edge.purge(f"{path}.article:1 {path}.unknown")

    assert (purge.status, purge.body) == (200, "Purged 1\n")
    assert edge.get(tagged).body == f"{tagged} fetch 2"
    assert edge.get(other).cache == "HIT"


def test_purge_from_outside_the_acl_is_refused(edge: Edge, path: str) -> None:
    edge.backend.public(path, keys=f"{path}.article")
    edge.get(path)

    assert edge.purge(f"{path}.article", source=OUTSIDER).status == 403
    assert edge.purge(None, source=OUTSIDER).status == 403
    assert edge.get(path).cache == "HIT"


def test_purge_without_keys_is_a_400_and_purges_nothing(edge: Edge, path: str) -> None:
    edge.backend.public(path, keys=f"{path}.article")
    edge.get(path)

    assert edge.purge(None).status == 400
    assert edge.get(path).cache == "HIT"


def test_writes_pass_through_to_the_backend(edge: Edge, path: str) -> None:
    edge.backend.public(path)

    answers = [edge.request("POST", path), edge.request("POST", path)]

    assert [answer.body for answer in answers] == [f"{path} fetch 1", f"{path} fetch 2"]


def test_read_whose_fetch_started_before_a_purge_is_delivered_but_not_stored(edge: Edge, path: str) -> None:
    edge.backend.public(path, keys=f"{path}.article", delay=0.5)
    slow: list[Response] = []
    reader = threading.Thread(target=lambda: slow.append(edge.get(path)))
    reader.start()
    # The backend has read (fetch 1) and is still answering when the write's purge arrives.
    time.sleep(0.2)
    assert edge.backend.count(path) == 1

    assert edge.purge(f"{path}.article").status == 200
    reader.join()

    assert slow[0].body == f"{path} fetch 1"
    after = edge.get(path)
    assert (after.cache, after.body) == ("MISS", f"{path} fetch 2")
    # A fetch that started after the purge is stored as usual.
    assert edge.get(path).cache == "HIT"


def test_stale_object_is_refetched_when_the_backend_is_healthy(edge: Edge, path: str) -> None:
    edge.backend.public(path, surrogate_control=EXPIRING)
    edge.get(path)
    time.sleep(1.2)

    assert edge.get(path).body == f"{path} fetch 2"


def test_stale_object_is_served_while_revalidating(edge: Edge, path: str) -> None:
    edge.backend.public(path, surrogate_control="max-age=1, stale-while-revalidate=30, stale-if-error=60")
    edge.get(path)
    time.sleep(1.2)

    stale = edge.get(path)

    assert (stale.cache, stale.body) == ("HIT", f"{path} fetch 1")
    # The background fetch replaced it.
    _wait_for(lambda: edge.get(path).body == f"{path} fetch 2")


def test_stale_object_outlives_a_failed_background_refresh(edge: Edge, path: str) -> None:
    edge.backend.public(path, surrogate_control="max-age=1, stale-while-revalidate=30, stale-if-error=60")
    edge.get(path)
    edge.backend.replies[path] = Reply(status=500)
    time.sleep(1.2)

    edge.get(path)
    # The background refresh that read started has failed (fetch 2); the stale copy is still there.
    _wait_for(lambda: edge.backend.count(path) >= 2)
    time.sleep(0.2)
    stale = edge.get(path)

    assert (stale.status, stale.cache, stale.body) == (200, "HIT", f"{path} fetch 1")


def test_stale_object_is_served_when_the_probe_finds_the_backend_sick(edge: Edge, path: str) -> None:
    edge.backend.public(path, surrogate_control=EXPIRING)
    edge.get(path)
    edge.backend.healthy = False
    edge.wait_until_backend(healthy=False)
    time.sleep(1.2)

    stale = edge.get(path)

    assert (stale.status, stale.cache, stale.body) == (200, "HIT", f"{path} fetch 1")


def test_purged_object_is_never_served_stale(edge: Edge, path: str) -> None:
    edge.backend.public(path, keys=f"{path}.article", surrogate_control=EXPIRING)
    edge.get(path)
    edge.backend.healthy = False
    edge.wait_until_backend(healthy=False)

    assert edge.purge(f"{path}.article").status == 200

    assert edge.get(path).status == 503


def test_stale_object_is_served_when_the_backend_is_stopped(varnishd_executable: str, tmp_path: Path) -> None:
    path = "/articles/"
    with stub_backend() as (backend, server), edge_in_front(backend, server, tmp_path) as edge:
        backend.public(path, surrogate_control=EXPIRING)
        edge.get(path)
        server.shutdown()
        server.server_close()
        edge.wait_until_backend(healthy=False)
        time.sleep(1.2)

        # Each stale answer starts a background refresh that cannot connect; the object outlives them.
        stale = [edge.get(path), edge.get(path)]

    assert [(answer.status, answer.cache, answer.body) for answer in stale] == [(200, "HIT", f"{path} fetch 1")] * 2


def _wait_for(condition: Callable[[], bool], seconds: float = 3.0) -> None:
    """Return once condition holds; fail after seconds."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.05)
