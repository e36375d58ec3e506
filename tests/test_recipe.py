"""The generated README's recipe works as written: its lines, added to a project without the example API, make a
cached list and detail that cache, invalidate, appear in the schema, and fail their test without ``cache_models``.
"""

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import bake_into, make, project_env, skip_unless
from tests.test_generated_project import python_available

# A README block the recipe adds: ``<!-- recipe: notes/views.py -->`` (a new file) or ``<!-- recipe: append
# settings/base.py -->`` (lines at the end of a generated file), then a fenced code block.
RECIPE_BLOCK = re.compile(r"<!-- recipe: (append )?(\S+) -->\n```python\n(.*?)```", re.DOTALL)
LIST_LINES = re.compile(r"^class NoteList\(.*?(?=\n\n\n|\Z)", re.DOTALL | re.MULTILINE)
DETAIL_LINES = re.compile(r"^class NoteDetail\(.*?(?=\n\n\n|\Z)", re.DOTALL | re.MULTILINE)
FORGOTTEN = "    cache_models = (Note,)\n"
# What the recipe claims, checked in the baked project against real requests.
NOTES_TEST = """from typing import Any

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from notes.models import Note

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_hit_is_served_without_a_query(client: Client, django_assert_num_queries: DjangoAssertNumQueries) -> None:
    note = Note.objects.create(title="first", body="text")
    assert client.get("/api/notes/").status_code == 200
    assert client.get(f"/api/notes/{note.pk}/").status_code == 200

    with django_assert_num_queries(0):
        page = client.get("/api/notes/")
        detail = client.get(f"/api/notes/{note.pk}/")

    assert [row["title"] for row in page.json()["results"]] == ["first"]
    assert detail.json()["title"] == "first"


def test_a_committed_write_rebuilds_the_list_and_the_detail(client: Client) -> None:
    note = Note.objects.create(title="first", body="text")
    client.get("/api/notes/")
    client.get(f"/api/notes/{note.pk}/")

    note.title = "changed"
    note.save()
    Note.objects.create(title="second", body="text")

    assert [row["title"] for row in client.get("/api/notes/").json()["results"]] == ["second", "changed"]
    assert client.get(f"/api/notes/{note.pk}/").json()["title"] == "changed"


def test_bad_parameters_are_a_400_and_an_unknown_id_a_404(client: Client) -> None:
    assert client.get("/api/notes/?page_size=0").status_code == 400
    assert client.get("/api/notes/?ordering=title").status_code == 400
    assert client.get("/api/notes/404/").status_code == 404


def test_the_schema_documents_both_with_their_parameters_and_shapes(document: dict[str, Any]) -> None:
    listed = document["paths"]["/api/notes/"]["get"]
    detail = document["paths"]["/api/notes/{id}/"]["get"]

    assert {parameter["name"] for parameter in listed["parameters"]} == {"cursor", "page_size", "ordering"}
    page = listed["responses"]["200"]["content"]["application/json"]["schema"]
    assert page == {"$ref": "#/components/schemas/PaginatedNoteRowList"}
    assert detail["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NoteRow"
    }
    row = document["components"]["schemas"]["NoteRow"]
    assert set(row["properties"]) == {"id", "title", "body", "created_at"}
    assert "404" in detail["responses"]
"""


def recipe(readme: str) -> list[tuple[bool, str, str]]:
    """Return the README's recipe blocks: whether each is appended, to which file, and its lines."""
    blocks = [(bool(append), path, code) for append, path, code in RECIPE_BLOCK.findall(readme)]
    assert blocks, "the README has no recipe blocks"
    return blocks


def add_recipe(project: Path, *, drop: str = "") -> None:
    """Add the README's recipe lines to the project as the README says (without ``drop``), and make the migration."""
    for append, path, code in recipe((project / "README.md").read_text()):
        target = project / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if append:
            if code not in target.read_text():
                target.write_text(target.read_text() + "\n" + code)
        else:
            target.write_text(code.replace(drop, "") if drop else code)
    (project / "notes/__init__.py").touch()
    subprocess.run(
        [".venv/bin/python", "manage.py", "makemigrations", "notes"], cwd=project, env=project_env(), check=True
    )
    (project / "tests/test_notes.py").write_text(NOTES_TEST)


def run_notes_tests(project: Path) -> subprocess.CompletedProcess[str]:
    """Run the recipe's tests in the project; return the result."""
    return subprocess.run(
        [".venv/bin/python", "-m", "pytest", "-q", "-p", "no:randomly", "tests/test_notes.py"],
        cwd=project,
        env=project_env(),
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a project without the example API, installed."""
    skip_unless(python_available("3.12"), "no Python 3.12 here")
    baked = bake_into(tmp_path_factory.mktemp("recipe"), include_example_api=False)
    make(baked, "install")
    return baked


def test_the_readme_recipe_is_short() -> None:
    readme = (Path(__file__).parent.parent / "{{cookiecutter.project_slug}}/README.md").read_text()
    views = next(code for _, path, code in recipe(readme) if path == "notes/views.py")
    list_view, detail_view = LIST_LINES.search(views), DETAIL_LINES.search(views)
    assert list_view is not None
    assert detail_view is not None

    assert len(list_view.group().splitlines()) <= 6
    assert len(detail_view.group().splitlines()) <= 5
    assert FORGOTTEN in views


def test_the_readme_recipe_caches_invalidates_and_is_documented(project: Path) -> None:
    add_recipe(project)

    result = run_notes_tests(project)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "4 passed" in result.stdout
    make(project, "lint", "typecheck")


def test_the_readme_recipe_without_its_cache_models_fails_naming_the_line_to_add(project: Path) -> None:
    add_recipe(project, drop=FORGOTTEN)

    result = run_notes_tests(project)

    assert result.returncode != 0
    assert "NoteList built its response from Note but does not name it in cache_models" in result.stdout
    assert "Add: cache_models = (Note,)" in result.stdout
