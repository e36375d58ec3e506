"""The generated projects pass their own checks: ruff and mypy for every combination, the test suite on each backend.

These install each project with uv (from uv's cache after the first time), so they take minutes, not seconds.
"""

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import COMBINATIONS, fresh_database, make, project_env, skip_unless

DATABASE_URL = os.environ.get("TEMPLATE_TESTS_DATABASE_URL", "")
REDIS_URL = os.environ.get("TEMPLATE_TESTS_REDIS_URL", "")


def python_available(version: str) -> bool:
    """Return whether an interpreter for a Python version can be found, as the generated Makefile looks for one."""
    pyenv = shutil.which("pyenv")
    if pyenv and subprocess.run([pyenv, "latest", version], capture_output=True, check=False).returncode == 0:
        return True
    return shutil.which(f"python{version}") is not None


def python_of(name: str) -> str:
    """Return the Python version a combination asks for."""
    return str(COMBINATIONS[name].get("python_version", "3.12"))


@pytest.mark.parametrize("name", COMBINATIONS)
def test_generated_project_passes_ruff_and_mypy(workspace: Callable[[str], Path], name: str) -> None:
    skip_unless(python_available(python_of(name)), f"no Python {python_of(name)} here")

    make(workspace(name), "lint", "typecheck")


def test_default_project_passes_its_whole_make_test_on_the_embedded_default(workspace: Callable[[str], Path]) -> None:
    skip_unless(python_available("3.12"), "no Python 3.12 here")

    result = make(workspace("default"), "test")

    assert " passed" in result.stdout
    assert " failed" not in result.stdout


def test_default_project_suite_passes_on_postgresql_and_redis(workspace: Callable[[str], Path]) -> None:
    skip_unless(bool(DATABASE_URL and REDIS_URL), "TEMPLATE_TESTS_DATABASE_URL and TEMPLATE_TESTS_REDIS_URL unset")

    backends = {"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL}
    result = make(workspace("default"), "pytest", PYTEST_ADDOPTS="-rs", **backends)

    assert " passed" in result.stdout
    # The backend tests report which side ran: here the PostgreSQL and Redis ones, never the embedded ones.
    assert "DATABASE_URL is not set" not in result.stdout
    assert "REDIS_URL is not set" not in result.stdout
    assert "DATABASE_URL is set" in result.stdout
    assert "REDIS_URL is set" in result.stdout


def varnish_available() -> bool:
    """Return whether the generated project finds varnishd here (on the PATH or in /usr/sbin, as Debian puts it)."""
    return shutil.which("varnishd", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"])) is not None


@pytest.mark.parametrize("backends", ["embedded", "postgresql_redis"])
def test_make_bench_measures_every_stage_and_draws_both_charts(
    workspace: Callable[[str], Path], backends: str
) -> None:
    project = workspace("default")
    env: dict[str, str] = {}
    if backends == "postgresql_redis":
        skip_unless(bool(DATABASE_URL and REDIS_URL), "TEMPLATE_TESTS_DATABASE_URL and TEMPLATE_TESTS_REDIS_URL unset")
        make(project, "install")
        env = {"DATABASE_URL": fresh_database(project, DATABASE_URL, "bench"), "REDIS_URL": REDIS_URL}
    results = project / "var" / "bench"
    shutil.rmtree(results, ignore_errors=True)

    # A smoke run: every stage and page size once, for a second. The runner itself exits non-zero when a stage
    # serves other items than the real list; speed is reported, never asserted.
    result = make(project, "bench", BENCH_ARGS="--duration 1 --rounds 1", **env)

    data = json.loads((results / "results.json").read_text())
    # Stage 10 runs through Varnish where varnishd is installed (CI installs it); elsewhere it is left out, saying so.
    edge = varnish_available()
    assert [stage["stage"]["number"] for stage in data["stages"]] == list(range(1, 11 if edge else 10))
    assert {(item["stage"]["number"], item["page_size"]) for item in data["sweep"]} == {
        (number, size) for number in (2, 4, 5) for size in (10, 100, 1000)
    }
    runs = [run for item in data["stages"] + data["sweep"] for run in item["runs"]]
    assert len(runs) == (19 if edge else 18)
    assert all(run["requests_per_second"] > 0 and run["errors"] == 0 for run in runs)
    assert {stage["stage"]["name"]: stage["queries"] for stage in data["stages"]} == {
        "naive": 151, "optimized": 2, "values": 2, "cold": 1, "warm": 0, "304": 0, "django-ninja": 2,
        "raw view": 0, "bare WSGI": 0, **({"edge": 0} if edge else {}),
    }  # fmt: skip
    if edge:
        assert data["edge_writes"]["stale_reads"] == 0
    else:
        assert "Stage 10 (edge) left out: varnishd not found" in result.stdout
    for chart in ("stages.png", "sweep.png"):
        assert (results / chart).read_bytes().startswith(b"\x89PNG")
    assert "| # | stage | req/s |" in result.stdout
    assert ("PostgreSQL" in data["machine"]) is (backends == "postgresql_redis")


@pytest.mark.parametrize(("name", "url"), [("default", "/api/tags/"), ("no_example_api", "/health/")])
def test_make_bench_urls_measures_each_url_warm_missing_and_304(
    workspace: Callable[[str], Path], name: str, url: str
) -> None:
    project = workspace(name)
    results = project / "var" / "bench" / "endpoints.md"
    results.unlink(missing_ok=True)

    # A smoke run on the embedded default; speed is reported, never asserted.
    result = make(project, "bench", URLS=url, BENCH_ARGS="--duration 1 --rounds 1")

    rows = {line.split(" | ")[1]: line for line in results.read_text().splitlines() if line.startswith(f"| {url} |")}
    assert set(rows) == {"warm", "miss", "304"}
    assert ("no ETag" in rows["304"]) is (name == "no_example_api")
    assert ("not a cached view" in result.stdout) is (name == "no_example_api")


def test_python_3_11_project_suite_passes_on_django_5_2_lts(workspace: Callable[[str], Path]) -> None:
    skip_unless(python_available("3.11"), "no Python 3.11 here")
    project = workspace("python_3_11")

    result = make(project, "pytest")

    assert " passed" in result.stdout
    assert _django_version(project).startswith("5.2.")


def test_default_project_runs_django_6(workspace: Callable[[str], Path]) -> None:
    skip_unless(python_available("3.12"), "no Python 3.12 here")
    project = workspace("default")
    make(project, "install")

    assert _django_version(project).startswith("6.")


def test_project_with_every_option_off_passes_its_whole_make_test(workspace: Callable[[str], Path]) -> None:
    skip_unless(python_available("3.12"), "no Python 3.12 here")

    result = make(workspace("all_off"), "test")

    assert " passed" in result.stdout


@pytest.mark.parametrize("name", ["default", "all_off"])
def test_production_settings_pass_check_deploy_and_migrations_are_complete(
    workspace: Callable[[str], Path], name: str
) -> None:
    project = workspace(name)

    make(project, "check-deploy")
    result = subprocess.run(
        [str(project / ".venv/bin/python"), "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=project,
        env=project_env(DJANGO_READ_DOT_ENV_FILE="false"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _django_version(project: Path) -> str:
    """Return the Django version installed in a generated project's virtual environment."""
    result = subprocess.run(
        [str(project / ".venv/bin/python"), "-c", "import django; print(django.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()
