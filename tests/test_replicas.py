"""``make test-replicas`` in the default project: a streaming replica lagging, stopped or frozen, and no stale read.

It runs once, on the default project: the suite starts a PostgreSQL primary and a ``pg_basebackup -R`` replica of its
own on free ports, gunicorn on both and Redis database 10 of the shared server. Without PostgreSQL's server
programs it skips, unless REQUIRE_REPLICAS=1 (CI) makes that a failure.
"""

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import make
from tests.test_chaos import postgres_server_programs


def test_make_test_replicas_reads_no_stale_data_and_answers_while_the_replica_fails(
    workspace: Callable[[str], Path],
) -> None:
    if not postgres_server_programs():
        if os.environ.get("REQUIRE_REPLICAS") == "1":
            pytest.fail("PostgreSQL's server programs not found (REQUIRE_REPLICAS=1 requires them)")
        pytest.skip("PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup) not found")
    project = workspace("default")

    # make() fails the test with the suite's output when a read is stale or a failing replica costs a 5xx.
    result = make(project, "test-replicas")

    assert "4 passed" in result.stdout
    assert "stale entries stored: 0 of 2" in result.stdout
