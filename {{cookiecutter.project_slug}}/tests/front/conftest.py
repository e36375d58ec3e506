"""Fixtures of the front's tests: gunicorn with 2 sync workers, and nginx with deploy/nginx.conf in front of it.

Without nginx the tests skip, unless ``REQUIRE_NGINX=1`` makes that a failure (as in CI).
"""

import os
from collections.abc import Iterator

import pytest

from deploy.front import INSTALL_HINT, find_nginx
from tests.conftest import required_program
from tests.perf.servers import free_port, gunicorn, manage
from tests.perf.slow_clients import front

WORKERS = 2


@pytest.fixture(scope="session")
def nginx_executable() -> str:
    """Return the nginx to run; skip without one, or fail when REQUIRE_NGINX=1."""
    return required_program(find_nginx(), f"nginx not found: {INSTALL_HINT}", "REQUIRE_NGINX")


@pytest.fixture(scope="package")
def app_port(nginx_executable: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Return the port of gunicorn (gunicorn.conf.py, 2 sync workers) serving the project on a database of its own.

    The test settings keep its cache entries apart from a development server's; the database is a new SQLite file,
    whatever DATABASE_URL names, since what is tested is how connections reach the workers.
    """
    database = tmp_path_factory.mktemp("front-database") / "db.sqlite3"
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "GUNICORN_"))}
    environment |= {
        "DJANGO_SETTINGS_MODULE": "settings.test",
        "DATABASE_URL": f"sqlite:///{database}",
        # The slow clients' refused logins would each log a warning.
        "DJANGO_LOG_LEVEL": "ERROR",
    }
    manage("migrate", "--noinput", "--verbosity", "0", env=environment)
    port = free_port()
    with gunicorn(port, workers=WORKERS, env=environment):
        yield port


@pytest.fixture(scope="package")
def front_port(app_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Return the port of nginx, with the shipped configuration, in front of app_port's gunicorn."""
    with front(app_port, tmp_path_factory.mktemp("front")) as port:
        yield port
