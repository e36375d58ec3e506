"""The default project's front: its tests/front/ run nginx with deploy/nginx.conf in front of gunicorn, for real.

They start servers and hold 100 slow connections, so they run once, in the default project, not per combination
(the front has no option-specific part; every combination is linted by test_generated_project.py).
"""

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from tests.conftest import make, skip_unless
from tests.test_generated_project import python_available

# Debian installs nginx into /usr/sbin, which an ordinary user's PATH often lacks; the generated tests look there too.
NGINX_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])


def test_default_project_front_answers_normal_requests_while_slow_clients_hang_on(
    workspace: Callable[[str], Path],
) -> None:
    skip_unless(python_available("3.12"), "no Python 3.12 here")
    skip_unless(shutil.which("nginx", path=NGINX_PATH) is not None, "nginx not found: apt-get install nginx")

    # REQUIRE_NGINX=1: a front test that skips fails instead, so this cannot pass without running them.
    result = make(workspace("default"), "pytest", PYTEST_ADDOPTS="-m front -rs", REQUIRE_NGINX="1")

    summary = re.search(r"(\d+) passed", result.stdout)
    assert summary is not None, result.stdout[-3000:]
    assert int(summary[1]) >= 9
    assert " failed" not in result.stdout
    assert " skipped" not in result.stdout
