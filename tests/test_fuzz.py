"""``make fuzz`` in the default project: schemathesis finds no 5xx and no undocumented answer in any operation.

It runs once, on PostgreSQL and Redis (in a fresh database) when TEMPLATE_TESTS_DATABASE_URL and
TEMPLATE_TESTS_REDIS_URL are set, else on the embedded default, with an example count small enough for CI.
"""

import os
import re
from collections.abc import Callable
from pathlib import Path

from tests.conftest import fresh_database, make

DATABASE_URL = os.environ.get("TEMPLATE_TESTS_DATABASE_URL", "")
REDIS_URL = os.environ.get("TEMPLATE_TESTS_REDIS_URL", "")
CI_EXAMPLES = "15"


def test_make_fuzz_finds_no_5xx_and_no_undocumented_response_anonymously_or_as_a_writer(
    workspace: Callable[[str], Path],
) -> None:
    project = workspace("default")
    env: dict[str, str] = {}
    if DATABASE_URL and REDIS_URL:
        make(project, "install")
        env = {"DATABASE_URL": fresh_database(project, DATABASE_URL, "fuzz"), "REDIS_URL": REDIS_URL}

    # make fails, with schemathesis's report of each failure, when either run finds one.
    result = make(project, "fuzz", FUZZ_EXAMPLES=CI_EXAMPLES, FUZZ_ARGS="--no-color", **env)

    operations = re.findall(r"Operations:\s+(\d+) selected / (\d+) total", result.stdout)
    tested = re.findall(r"Tested: (\d+)", result.stdout)
    assert len(operations) == 2  # the anonymous run and the writer's
    assert all(selected == total for selected, total in operations)
    assert tested == [total for _, total in operations]
    assert int(tested[0]) >= 13  # the example API's operations, at least
    assert "2 passed" in result.stdout
