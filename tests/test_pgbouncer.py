"""``make test-pgbouncer`` in the default project: the whole suite passes through pgbouncer in transaction mode.

It runs once, on the default project: pgbouncer in front of TEMPLATE_TESTS_DATABASE_URL's server (the generated
runner's default, postgres://postgres@127.0.0.1:5432/test, when unset), with Redis when TEMPLATE_TESTS_REDIS_URL is
set. Without pgbouncer it skips, unless REQUIRE_PGBOUNCER=1 (CI) makes that a failure.
"""

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import make

DATABASE_URL = os.environ.get("TEMPLATE_TESTS_DATABASE_URL", "")
REDIS_URL = os.environ.get("TEMPLATE_TESTS_REDIS_URL", "")
SUMMARY_PREFIX = "test-pgbouncer: "


def pgbouncer_available() -> bool:
    """Return whether the generated project finds pgbouncer here (on the PATH or in /usr/sbin, as Debian puts it)."""
    return shutil.which("pgbouncer", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"])) is not None


def test_make_test_pgbouncer_passes_the_whole_suite_through_pgbouncer_in_transaction_mode(
    workspace: Callable[[str], Path],
) -> None:
    if not pgbouncer_available():
        if os.environ.get("REQUIRE_PGBOUNCER") == "1":
            pytest.fail("pgbouncer not found (REQUIRE_PGBOUNCER=1 requires it): apt-get install pgbouncer")
        pytest.skip("pgbouncer not found: apt-get install pgbouncer")
    project = workspace("default")
    backends = {name: url for name, url in (("DATABASE_URL", DATABASE_URL), ("REDIS_URL", REDIS_URL)) if url}

    # make() fails the test with the suite's output when a test fails through pgbouncer.
    result = make(project, "test-pgbouncer", **backends)

    summaries = [line for line in result.stdout.splitlines() if line.startswith(SUMMARY_PREFIX)]
    assert len(summaries) == 1, result.stdout[-2000:]
    assert " passed" in summaries[0]
    assert " failed" not in summaries[0]
    assert "pytest exited 0" in summaries[0]
