"""``make worker`` in a generated project: it consumes what is sent to Redis, and refuses to start without a broker.

The generated suite runs workers on the test Redis itself (tests/core/test_worker.py); this runs the target.
"""

import secrets
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.conftest import make, project_env, run_make, skip_unless
from tests.test_generated_project import REDIS_URL, python_available
from tests.test_newcomer import serving

# Sends core.tasks.ping to the queue the worker consumes, on the broker the project derives from REDIS_URL.
PING = """
import os
from celery import Celery
from core.plumbing.tasks import broker_url
broker = broker_url(os.environ)
client = Celery(broker=broker, backend=broker)
print(client.send_task("core.tasks.ping", queue=os.environ["CELERY_TASK_DEFAULT_QUEUE"]).get(timeout=60))
"""


def test_make_worker_runs_a_task_sent_through_redis(workspace: Callable[[str], Path]) -> None:
    skip_unless(bool(REDIS_URL), "TEMPLATE_TESTS_REDIS_URL unset")
    project = workspace("all_off")
    make(project, "migrate")
    backends = {"REDIS_URL": REDIS_URL, "CELERY_TASK_DEFAULT_QUEUE": f"template-test-{secrets.token_hex(6)}"}

    with serving(project, "worker", **backends) as worker:
        sent = subprocess.run(
            [str(project / ".venv/bin/python"), "-c", PING],
            cwd=project,
            env=project_env(**backends),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        running = worker.poll() is None

    output = worker.stdout.read() if worker.stdout else ""
    assert running, output[-3000:]
    assert sent.stdout.strip() == "pong", f"{sent.stderr[-3000:]}\n{output[-3000:]}"


def test_make_worker_without_a_broker_stops_with_one_line(workspace: Callable[[str], Path]) -> None:
    skip_unless(python_available("3.12"), "no Python 3.12 here")
    project = workspace("all_off")
    make(project, "migrate")

    result = run_make(project, "worker", timeout=120)

    assert result.returncode != 0
    assert "A worker needs REDIS_URL or CELERY_BROKER_URL; without them tasks run in-process." in result.stderr
