"""Bad answers stop generation with a one-line message that says what to type instead, and leave nothing behind."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, bake_into

BAD_ANSWERS = [
    ("project_slug=Acme-API", "project_slug 'Acme-API' is not a lowercase Python identifier", "such as 'acme_api'"),
    ("project_slug=1api", "is not a lowercase Python identifier", "starting with a letter"),
    ("project_slug=api", "project_slug 'api' would shadow the module of the same name", "'api_api'"),
    ("project_slug=core", "would shadow the module", "choose another name"),
    ("project_slug=settings", "would shadow the module", "choose another name"),
    ("project_slug=django", "would shadow the module", "choose another name"),
    ("project_slug=test", "would shadow the module", "choose another name"),
    ("project_slug=class", "project_slug 'class' is a Python keyword", "such as 'class_api'"),
    ("project_slug=json", "would shadow the module", "choose another name"),
    ("author_email=jane.example.com", "author_email 'jane.example.com' is not an email address", "jane@example.com"),
    ("author_email=jane@localhost", "is not an email address", "jane@example.com"),
    ("domain_name=https://api.example.com/", "is not a host name", "(no scheme, no path)"),
    ("timezone=Mars/Olympus", "timezone 'Mars/Olympus' is not an IANA time zone", "'Europe/Paris'"),
    ('description=The "fast" API', "holds a double quote or a backslash", "type it without them"),
]


@pytest.mark.parametrize(("answer", "problem", "advice"), BAD_ANSWERS)
def test_a_bad_answer_fails_generation_with_a_message_saying_what_to_type(
    tmp_path: Path, answer: str, problem: str, advice: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cookiecutter", str(ROOT), "--no-input", "-o", str(tmp_path), answer],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR: ")]
    assert len(errors) == 1, result.stderr
    assert problem in errors[0]
    assert advice in errors[0]
    assert list(tmp_path.iterdir()) == []


def test_several_bad_answers_are_all_reported_at_once(tmp_path: Path) -> None:
    answers = ["project_slug=api", "author_email=nope"]
    result = subprocess.run(
        [sys.executable, "-m", "cookiecutter", str(ROOT), "--no-input", "-o", str(tmp_path), *answers],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert len([line for line in result.stderr.splitlines() if line.startswith("ERROR: ")]) == 2


def test_generation_prints_the_next_two_commands(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    bake_into(tmp_path, project_slug="shop_api")

    printed = capfd.readouterr().out
    assert "cd shop_api && make run    # install, migrate, demo data, http://127.0.0.1:8000" in printed
    assert "make test" in printed


def test_generation_without_the_example_api_promises_no_demo_data(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    bake_into(tmp_path, project_slug="shop_api", include_example_api=False)

    printed = capfd.readouterr().out
    assert "cd shop_api && make run    # install, migrate, http://127.0.0.1:8000" in printed
    assert "demo" not in printed


def test_each_project_gets_its_own_secret_key_in_a_private_env_file(tmp_path: Path) -> None:
    keys = []
    for name in ("one", "two"):
        env_file = bake_into(tmp_path / name) / ".env"
        lines = env_file.read_text().splitlines()
        keys.append(next(line.split("=", 1)[1] for line in lines if line.startswith("DJANGO_SECRET_KEY=")))
        assert env_file.stat().st_mode & 0o777 == 0o600

    assert len(keys[0]) >= 50
    assert keys[0] != keys[1]
