"""Slow clients: behind nginx, gunicorn's 2 sync workers answer every normal request; alone, 5 slow clients stop them.

A sync worker reads its request from the client itself, so a client that sends it slowly holds the worker; nginx
reads each request whole before it passes it on. Both halves run here, so the test shows that the front is what
keeps the workers free. The slow clients send a byte a second and hang on for less than client_header_timeout.
"""

import time
from collections.abc import Callable

import pytest

from tests.perf.slow_clients import SlowClients, get, normal_requests, slow_bodies, slow_headers

pytestmark = pytest.mark.front

SLOW_HEADERS = 100
# Below limit_conn's 20 in progress per address: the normal requests come from the same address, 127.0.0.1.
SLOW_BODIES = 10
# Against gunicorn alone: more slow clients than workers, and a normal request given 3 s to be answered.
STARVING = 5
STARVED_TIMEOUT = 3.0
# Long enough for every slow client to be well into its request.
HEAD_START = 2.0
NORMAL_SECONDS = 4.0


@pytest.mark.parametrize(
    ("attack", "count"),
    [(slow_headers, SLOW_HEADERS), (slow_bodies, SLOW_BODIES)],
    ids=["100 slow headers", "10 slow bodies"],
)
def test_front_answers_every_normal_request_while_slow_clients_hang_on(
    front_port: int, attack: Callable[[int, int], SlowClients], count: int
) -> None:
    with attack(front_port, count) as clients:
        time.sleep(HEAD_START)
        outcome = normal_requests(front_port, duration=NORMAL_SECONDS, timeout=10)
        reopened = clients.reopened

    assert outcome.failures == []
    assert outcome.answered > 0
    assert reopened == 0  # every slow client hung on the whole time


@pytest.mark.parametrize("attack", [slow_headers, slow_bodies], ids=["headers", "bodies"])
def test_gunicorn_alone_answers_nothing_while_5_slow_clients_hang_on(
    app_port: int, attack: Callable[[int, int], SlowClients]
) -> None:
    assert get(app_port, "/health/", timeout=10) == 200

    with attack(app_port, STARVING):
        time.sleep(1)
        with pytest.raises(TimeoutError):
            get(app_port, "/health/", timeout=STARVED_TIMEOUT)
