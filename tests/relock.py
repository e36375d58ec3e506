"""Re-resolve the generated project's uv.lock for each combination of optional tools (``make lock``).

Each combination is baked, locked with ``uv lock`` and stored, with the project name turned back into its
placeholder, as ``{{cookiecutter.project_slug}}/.locks/<variant>.lock``; the post-generation hook keeps the one
that matches the answers.
"""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cookiecutter.main import cookiecutter
from uv import find_uv_bin

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ROOT / "{{cookiecutter.project_slug}}" / ".locks"
SLUG = "lock_probe"
NAME_PLACEHOLDER = "{{ cookiecutter.project_slug|replace('_', '-') }}"
TOOLS = {
    "silk-toolbar": {"use_silk": True, "use_debug_toolbar": True},
    "silk": {"use_silk": True, "use_debug_toolbar": False},
    "toolbar": {"use_silk": False, "use_debug_toolbar": True},
    "none": {"use_silk": False, "use_debug_toolbar": False},
}
# Without the example API the project has no benchmark stages, so no bench dependency group either.
VARIANTS = {
    f"{tools}{suffix}": {**options, "include_example_api": example}
    for tools, options in TOOLS.items()
    for suffix, example in (("", True), ("-no-example", False))
}


def relock(variant: str, options: dict[str, bool], workdir: Path) -> None:
    """Bake one combination, lock it, and store its lock file as a template."""
    project = Path(
        cookiecutter(
            str(ROOT), no_input=True, output_dir=str(workdir), extra_context={"project_slug": SLUG, **options}
        )
    )
    lock = project / "uv.lock"
    if not lock.read_text().strip():
        lock.unlink()  # a first run: no earlier resolution to keep
    subprocess.run([find_uv_bin(), "lock", "--quiet"], cwd=project, check=True)
    text = lock.read_text()
    text, count = re.subn(rf'^name = "{SLUG.replace("_", "-")}"$', f'name = "{NAME_PLACEHOLDER}"', text, flags=re.M)
    if count != 1:
        sys.exit(f"expected the project's own entry once in {variant}'s lock, found it {count} times")
    (LOCKS / f"{variant}.lock").write_text(text)


def main() -> None:
    """Re-lock every variant."""
    for variant, options in VARIANTS.items():
        workdir = Path(tempfile.mkdtemp())
        try:
            relock(variant, options, workdir)
        finally:
            shutil.rmtree(workdir)
        print(f"locked {variant}")


if __name__ == "__main__":
    main()
