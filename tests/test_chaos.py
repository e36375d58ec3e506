"""The default project's fault suite: ``make chaos`` fails Redis, PostgreSQL and a worker under load, within bounds.

It starts a PostgreSQL cluster and a Redis of its own on free ports, so it needs PostgreSQL's server programs and
redis-server on this machine, never the shared servers.
"""

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.conftest import make, skip_unless
from tests.test_generated_project import python_available

FAULTS = [
    "redis_stopped",
    "redis_out_of_memory",
    "redis_writes_paused",
    "postgres_restarted",
    "postgres_down",
    "worker_killed",
]


def postgres_server_programs() -> bool:
    """Return whether initdb and pg_ctl can be found, where the generated suite looks for them."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if found and (Path(found) / "initdb").is_file():
            return True
    return any(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or shutil.which("initdb") is not None


def test_make_chaos_loses_no_write_and_reports_every_fault(workspace: Callable[[str], Path]) -> None:
    skip_unless(python_available("3.12"), "no Python 3.12 here")
    skip_unless(postgres_server_programs(), "no PostgreSQL server programs (initdb, pg_ctl) here")
    skip_unless(shutil.which("redis-server") is not None, "no redis-server here")
    project = workspace("default")
    results = project / "var" / "chaos"
    shutil.rmtree(results, ignore_errors=True)

    # make() fails the test with the suite's output when any fault breaks a bound.
    result = make(project, "chaos")

    faults = json.loads((results / "results.json").read_text())["faults"]
    assert [fault["fault"] for fault in faults] == FAULTS
    assert all(fault["requests"] > 0 and fault["acknowledged_writes"] > 0 for fault in faults)
    assert "| fault | requests | 2xx |" in result.stdout
    assert (results / "results.md").read_text().count("\n| ") == len(FAULTS) + 1
