"""A real worker (``celery -A core worker``) on real Redis: it runs what is sent, and again what a dead worker held.

Skipped without REDIS_URL, failed with REQUIRE_WORKER=1. Each test starts its own worker on a queue of its own and
kills it, whatever happens.
"""

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.core.cache import cache
from redis import Redis

from core.celery import app as project_app
from tests.conftest import required_program

PROJECT = Path(__file__).resolve().parents[2]
READY_SECONDS = 60
# Short limits, so a task a dead worker held goes back to the queue within seconds (the visibility timeout).
SHORT_LIMITS = {
    "CELERY_TASK_SOFT_TIME_LIMIT": "3",
    "CELERY_TASK_TIME_LIMIT": "4",
    "CELERY_BROKER_VISIBILITY_TIMEOUT": "5",
}

Worker = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def queue() -> str:
    """Return a queue name of this test's own, so workers of other runs never take its tasks."""
    required_program(
        os.environ.get("REDIS_URL") or None, "REDIS_URL is not set: no broker for a worker", "REQUIRE_WORKER"
    )
    return f"test-{secrets.token_hex(6)}"


@pytest.fixture
def client() -> Celery:
    """Return a client of the project's broker and result backend that sends for real (the tests' app runs tasks)."""
    conf = project_app.conf
    return Celery(broker=conf.broker_url, backend=conf.result_backend, set_as_current=False)


@pytest.fixture
def start_worker(queue: str, tmp_path: Path) -> Iterator[Worker]:
    """Return a starter of workers on the test's queue; every worker started is killed at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(limits: dict[str, str]) -> subprocess.Popen[bytes]:
        environment = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
        environment |= {"DJANGO_SETTINGS_MODULE": "settings.test", "DJANGO_READ_DOT_ENV_FILE": "false", **limits}
        command = [sys.executable, "-m", "celery", "-A", "core", "worker", "-Q", queue, "--concurrency", "1"]
        command += [
            "--include",
            "tests.core.worker_tasks",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "INFO",
        ]
        log = (tmp_path / f"worker-{len(started)}.log").open("wb")
        # A session of its own, so the worker and its pool process are killed together.
        process = subprocess.Popen(
            command, cwd=PROJECT, env=environment, stdout=log, stderr=log, start_new_session=True
        )
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            kill(process)
        # The queue and its bindings would stay in Redis forever, one per run.
        bindings = [f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"]
        Redis.from_url(project_app.conf.broker_url).delete(*bindings, queue)


def kill(process: subprocess.Popen[bytes]) -> None:
    """Kill the worker and its pool processes at once, as a machine that dies would."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def wait_for(found: Callable[[], Any], seconds: float) -> Any:
    """Return what ``found`` returns once it is truthy, polling; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"not seen within {seconds} s")


def test_a_worker_runs_a_task_sent_to_the_broker(start_worker: Worker, client: Celery, queue: str) -> None:
    start_worker(limits={})

    result = client.send_task("core.tasks.ping", queue=queue)

    assert result.get(timeout=READY_SECONDS) == "pong"


def test_a_task_whose_pool_process_dies_is_run_again(start_worker: Worker, client: Celery, queue: str) -> None:
    # The default time limits: the worker notices the lost process within seconds, long before them.
    start_worker(limits={})
    token = secrets.token_hex(6)

    result = client.send_task("tests.core.worker_tasks.hold", (token, 60), queue=queue)
    pid = wait_for(lambda: cache.get(f"pid:{token}"), READY_SECONDS)
    os.kill(pid, signal.SIGKILL)

    # Acknowledged late and rejected when its process is lost: the worker puts it back, and runs it again.
    assert result.get(timeout=30) == 2


def test_a_task_held_by_a_worker_that_dies_goes_to_another_worker(
    start_worker: Worker, client: Celery, queue: str
) -> None:
    first = start_worker(limits=SHORT_LIMITS)
    token = secrets.token_hex(6)
    result = client.send_task("tests.core.worker_tasks.hold", (token, 60), queue=queue)
    wait_for(lambda: cache.get(f"pid:{token}"), READY_SECONDS)

    kill(first)
    start_worker(limits=SHORT_LIMITS)

    # Never acknowledged: Redis hands it out again once the visibility timeout has passed.
    assert result.get(timeout=30) == 2
