"""Finish the generated project: drop unchosen options, pick the lock file, write .env, say what to run next."""

import secrets
import shutil
import sys
from pathlib import Path

USE_SILK = "{{ cookiecutter.use_silk }}" == "True"
USE_DEBUG_TOOLBAR = "{{ cookiecutter.use_debug_toolbar }}" == "True"
INCLUDE_EXAMPLE_API = "{{ cookiecutter.include_example_api }}" == "True"

# Each option's code lives in these files only, so dropping an option is deleting them.
OPTION_FILES = {
    "use_silk": [
        "settings/tools/silk.py",
        "core/observability/silk.py",
        "core/management/commands/silk_trim.py",
        "tests/core/test_silk.py",
    ],
    "use_debug_toolbar": [
        "settings/tools/debug_toolbar.py",
        "tests/core/test_debug_toolbar.py",
        "tests/api/test_debug_toolbar_on_api.py",
    ],
    "include_example_api": [
        "api/models.py",
        "api/admin.py",
        "api/permissions.py",
        "api/rows.py",
        "api/selectors.py",
        "api/serializers.py",
        "api/services.py",
        "api/views.py",
        "api/export.py",
        "api/export_jobs.py",
        "api/export_views.py",
        "api/tasks.py",
        "api/overview.py",
        "api/upstream.py",
        "api/factories.py",
        "api/demo.py",
        "api/migrations",
        "api/management",
        "tests/api",
        "tests/browser/test_try_it_out.py",
        "tests/fuzz",
        "tests/perf/stages.py",
        "tests/perf/urls.py",
        "tests/perf/test_stages.py",
        "tests/perf/test_bench_app.py",
        "tests/perf/bench.py",
        "tests/perf/local_cache.py",
        "tests/perf/ninja_stage.py",
        "tests/perf/report.py",
        "tests/perf/test_report.py",
        "tests/perf/chart.py",
        "tests/perf/reference",
        "tests/perf/edge_writes.py",
        "tests/perf/refresh_ahead.py",
        "tests/perf/test_refresh_ahead.py",
        "tests/perf/fanout.py",
        "tests/perf/test_fanout.py",
        "tests/perf/sequential_overview.py",
        "tests/perf/slow_upstream.py",
        "tests/edge/test_through_varnish.py",
        "tests/chaos",
        "tests/replicas",
        "tests/sentinel",
    ],
}
# A secret key from this alphabet needs no quoting in .env, a shell or a Makefile.
SECRET_KEY_BYTES = 50


def remove(path: Path) -> None:
    """Remove a file or a folder."""
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


# Files that stand in for an option's version when it is answered no: (option, the option's file, the stand-in).
STAND_INS = [
    ("include_example_api", "api/urls.py", "api/urls_without_example.py"),
    ("include_example_api", "settings/bench.py", "settings/bench_without_example.py"),
    ("include_example_api", "tests/perf/wsgi.py", "tests/perf/wsgi_without_example.py"),
]


def remove_unchosen_options(root: Path) -> None:
    """Delete the files of every option that was answered no, putting each stand-in in its place."""
    chosen = {
        "use_silk": USE_SILK,
        "use_debug_toolbar": USE_DEBUG_TOOLBAR,
        "include_example_api": INCLUDE_EXAMPLE_API,
    }
    for option, paths in OPTION_FILES.items():
        if not chosen[option]:
            for relative in paths:
                remove(root / relative)
    for option, original, stand_in in STAND_INS:
        if chosen[option]:
            (root / stand_in).unlink()
        else:
            (root / stand_in).replace(root / original)


def install_lock_file(root: Path) -> None:
    """Keep the uv lock file resolved for the chosen tools and drop the others."""
    tools = "-".join(name for name, on in (("silk", USE_SILK), ("toolbar", USE_DEBUG_TOOLBAR)) if on) or "none"
    variant = tools if INCLUDE_EXAMPLE_API else f"{tools}-no-example"
    locks = root / ".locks"
    (locks / f"{variant}.lock").replace(root / "uv.lock")
    shutil.rmtree(locks)


def write_env_file(root: Path) -> None:
    """Write .env from .env.example with a fresh random DJANGO_SECRET_KEY."""
    key = secrets.token_urlsafe(SECRET_KEY_BYTES)
    lines = (root / ".env.example").read_text().splitlines()
    lines = [f"DJANGO_SECRET_KEY={key}" if line.startswith("DJANGO_SECRET_KEY=") else line for line in lines]
    env_file = root / ".env"
    env_file.write_text("\n".join(lines) + "\n")
    env_file.chmod(0o600)


def main() -> int:
    """Return the exit status after finishing the generated project."""
    root = Path.cwd()
    remove_unchosen_options(root)
    install_lock_file(root)
    write_env_file(root)
    steps = "install, migrate, demo data" if INCLUDE_EXAMPLE_API else "install, migrate"
    print(
        "\nCreated {{ cookiecutter.project_slug }}. Next:\n"
        f"  cd {{ cookiecutter.project_slug }} && make run    # {steps}, http://127.0.0.1:8000\n"
        "  make test                        # ruff, mypy and pytest\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
