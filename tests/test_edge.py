"""``make test-edge`` in the default project: behind the real Varnish, no read after a committed write is stale.

It runs once, on the default project: gunicorn with 4 workers behind varnishd with the shipped VCL, 1,000 writes each
followed by reads through the edge while other readers hammer it, the edge stopped and started again, and the docs
through it. Without varnishd it skips, unless REQUIRE_VARNISH=1 (CI) makes that a failure.
"""

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import make
from tests.test_generated_project import varnish_available


def test_make_test_edge_shows_no_stale_read_through_varnish_after_1000_writes(
    workspace: Callable[[str], Path],
) -> None:
    if not varnish_available():
        if os.environ.get("REQUIRE_VARNISH") == "1":
            pytest.fail("varnishd not found (REQUIRE_VARNISH=1 requires it): apt-get install varnish varnish-modules")
        pytest.skip("varnishd not found: apt-get install varnish varnish-modules")
    project = workspace("default")

    # make() fails the test with the suite's output when a read is stale or a write fails.
    result = make(project, "test-edge")

    assert "4 passed" in result.stdout
