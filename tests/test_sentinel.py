"""``make test-sentinel`` in the default project: the Redis primary killed under load, no error, no lasting stale read.

It runs once, on the default project: the suite starts a Redis primary, its replica and three sentinels of its own
on free ports, gunicorn through them, and a database of its own on the local PostgreSQL. Without
redis-server and redis-sentinel it skips, unless REQUIRE_SENTINEL=1 (CI) makes that a failure.
"""

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import make


def test_make_test_sentinel_answers_through_a_failover_and_repairs_what_it_lost(
    workspace: Callable[[str], Path],
) -> None:
    if shutil.which("redis-server") is None or shutil.which("redis-sentinel") is None:
        if os.environ.get("REQUIRE_SENTINEL") == "1":
            pytest.fail("redis-server or redis-sentinel not found (REQUIRE_SENTINEL=1 requires them)")
        pytest.skip("redis-server or redis-sentinel not found: apt-get install redis-server redis-sentinel")
    project = workspace("default")

    # make() fails the test with the suite's output when a failover costs a 5xx or a stale read outlasts the bound.
    result = make(project, "test-sentinel", REQUIRE_SENTINEL="1")

    assert "3 passed" in result.stdout
    assert "Redis primary killed under load" in result.stdout
