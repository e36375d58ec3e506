"""Every supported combination generates a complete project: rendered, laid out, and trimmed to its options."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import COMBINATIONS

TOP_LEVEL = {
    "api", "core", "deploy", "settings", "templates", "tests", "var", "pyproject.toml", "uv.lock", "manage.py",
    "README.md", "Makefile", "gunicorn.conf.py", ".env.example", ".env", ".gitignore", ".python-version",
    ".github", ".pre-commit-config.yaml", "Dockerfile", ".dockerignore", "compose.yaml",
}  # fmt: skip
OPTION_FILES = {
    "use_silk": ["settings/tools/silk.py", "core/observability/silk.py", "core/management/commands/silk_trim.py",
                 "tests/core/test_silk.py"],
    "use_debug_toolbar": ["settings/tools/debug_toolbar.py", "tests/core/test_debug_toolbar.py"],
    "include_example_api": ["api/models.py", "api/admin.py", "api/factories.py", "api/demo.py", "api/views.py",
                            "api/rows.py", "api/selectors.py", "api/services.py", "api/serializers.py",
                            "api/permissions.py",
                            "api/migrations/0001_initial.py", "api/management/commands/seed_demo.py",
                            "tests/api/test_demo.py", "tests/api/test_reads.py", "tests/browser/test_try_it_out.py",
                            "tests/perf/stages.py", "tests/perf/test_stages.py", "tests/perf/bench.py",
                            "tests/perf/ninja_stage.py", "tests/perf/report.py", "tests/perf/test_report.py",
                            "tests/perf/chart.py", "tests/perf/reference/stages.png", "tests/perf/test_bench_app.py"],
}  # fmt: skip
DEPENDENCY_OF = {
    "use_silk": "django-silk",
    "use_debug_toolbar": "django-debug-toolbar",
    # the bench group: django-ninja is stage 7 of `make bench`, which comes with the example API
    "include_example_api": "django-ninja",
}
LEFTOVER = re.compile(r"\{\{ *cookiecutter\.|\{%|\{\{-|-\}\}")


def text_files(project: Path) -> list[Path]:
    """Return the generated files that hold text."""
    return [path for path in project.rglob("*") if path.is_file() and b"\0" not in path.read_bytes()[:1024]]


@pytest.mark.parametrize("name", COMBINATIONS)
def test_generated_files_hold_no_template_syntax(baked: Callable[[str], Path], name: str) -> None:
    project = baked(name)
    for path in text_files(project):
        text = path.read_text()
        if path.relative_to(project).parts[0] == "templates":
            # Django templates are copied as they are, so they keep their own {% %} tags.
            assert "cookiecutter" not in text, path
        else:
            assert not LEFTOVER.search(text), f"{path}: {LEFTOVER.search(text)}"


@pytest.mark.parametrize("name", COMBINATIONS)
def test_generated_project_has_the_expected_layout(baked: Callable[[str], Path], name: str) -> None:
    project = baked(name)

    assert {path.name for path in project.iterdir()} == TOP_LEVEL
    for required in ["core/plumbing/urls.py", "core/plumbing/wsgi.py", "core/plumbing/asgi.py",
                     "core/plumbing/health.py", "core/toolkit/views.py", "core/observability/timing.py",
                     "settings/base.py", "settings/local.py", "settings/test.py", "settings/production.py",
                     "tests/conftest.py", "tests/factories.py"]:  # fmt: skip
        assert (project / required).is_file(), required


@pytest.mark.parametrize("name", COMBINATIONS)
def test_unchosen_options_leave_no_file_and_no_dependency(baked: Callable[[str], Path], name: str) -> None:
    project = baked(name)
    answers = {"use_silk": True, "use_debug_toolbar": True, "include_example_api": True, **COMBINATIONS[name]}
    pyproject = (project / "pyproject.toml").read_text()
    lock = (project / "uv.lock").read_text()

    for option, paths in OPTION_FILES.items():
        for relative in paths:
            assert (project / relative).exists() is answers[option], f"{relative} with {option}={answers[option]}"
    for option, dependency in DEPENDENCY_OF.items():
        assert (f'"{dependency}>=' in pyproject) is answers[option]
        assert (f'name = "{dependency}"' in lock) is answers[option]
    assert not (project / ".locks").exists()


@pytest.mark.parametrize("name", ["default", "no_example_api"])
def test_api_urls_are_the_example_or_an_empty_list_and_no_stand_in_is_left(
    baked: Callable[[str], Path], name: str
) -> None:
    api = baked(name) / "api"
    urls = (api / "urls.py").read_text()

    assert not (api / "urls_without_example.py").exists()
    assert ("ArticleListView" in urls) is (name == "default")
    assert ("urlpatterns: list[URLPattern | URLResolver] = []" in urls) is (name == "no_example_api")


@pytest.mark.parametrize("name", ["default", "no_example_api"])
def test_bench_settings_and_application_are_the_example_or_their_stand_ins(
    baked: Callable[[str], Path], name: str
) -> None:
    project = baked(name)
    settings = (project / "settings" / "bench.py").read_text()
    application = (project / "tests" / "perf" / "wsgi.py").read_text()

    assert not (project / "settings" / "bench_without_example.py").exists()
    assert not (project / "tests" / "perf" / "wsgi_without_example.py").exists()
    assert ('ROOT_URLCONF = "tests.perf.urls"' in settings) is (name == "default")
    assert "API_CACHE_MISS_RATE = None" in settings
    assert ("RAW_KEY" in application) is (name == "default")
    assert "with_misses(" in application


def test_core_never_imports_api(baked: Callable[[str], Path]) -> None:
    for path in (baked("default") / "core").rglob("*.py"):
        assert not re.search(r"^\s*(from|import) api\b", path.read_text(), re.M), path


@pytest.mark.parametrize("name", ["default", "python_3_11"])
def test_python_version_answer_reaches_every_tool(baked: Callable[[str], Path], name: str) -> None:
    project = baked(name)
    version = COMBINATIONS[name].get("python_version", "3.12")
    pyproject = (project / "pyproject.toml").read_text()

    assert (project / ".python-version").read_text().strip() == version
    assert f'target-version = "py{version.replace(".", "")}"' in pyproject
    assert f'python_version = "{version}"' in pyproject


# Words that name the example API or its data; the project without it must not mention them.
EXAMPLE_WORDS = re.compile(r"article|demo|make seed|example api|api/tags|api/stats|api/authors", re.IGNORECASE)


def test_project_without_the_example_api_never_mentions_it(baked: Callable[[str], Path]) -> None:
    project = baked("no_example_api")

    for name in ("README.md", "Makefile", ".env.example"):
        found = [line for line in (project / name).read_text().splitlines() if EXAMPLE_WORDS.search(line)]
        assert found == [], f"{name} mentions the example API: {found}"
    assert "Recipe: a cached list and a cached detail" in (project / "README.md").read_text()
