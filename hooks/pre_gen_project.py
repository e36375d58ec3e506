"""Reject answers that would generate a broken project, with a one-line message saying what to type instead."""

import keyword
import re
import sys
import zoneinfo

# Names the generated project imports or creates at its top level; a package called one of these would shadow it.
RESERVED_SLUGS = frozenset(
    {
        "api",
        "core",
        "settings",
        "templates",
        "tests",
        "test",
        "manage",
        "gunicorn",
        "granian",
        "django",
        "rest_framework",
        "drf_spectacular",
        "silk",
        "debug_toolbar",
        "django_redis",
        "redis",
        "environ",
        "factory",
        "orjson",
        "psycopg",
        "pytest",
        "site",
        "typing",
    }
)
SLUG_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
# A pragmatic check: one @, no spaces, a dot in the domain; full RFC 5322 is not the point here.
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
DOMAIN_PATTERN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def slug_error(slug: str) -> str | None:
    """Return why a project slug is unusable, or None when it is fine."""
    if not SLUG_PATTERN.fullmatch(slug):
        return (
            f"project_slug {slug!r} is not a lowercase Python identifier: "
            "type letters, digits and underscores, starting with a letter, such as 'acme_api'."
        )
    if keyword.iskeyword(slug):
        return f"project_slug {slug!r} is a Python keyword: choose another name, such as '{slug}_api'."
    if slug in RESERVED_SLUGS or slug in sys.stdlib_module_names:
        return (
            f"project_slug {slug!r} would shadow the module of the same name: "
            f"choose another name, such as '{slug}_api' or 'acme_{slug}'."
        )
    return None


def email_error(email: str) -> str | None:
    """Return why an author email is unusable, or None when it is fine."""
    if EMAIL_PATTERN.fullmatch(email):
        return None
    return f"author_email {email!r} is not an email address: type one such as 'jane@example.com'."


def domain_error(domain: str) -> str | None:
    """Return why a domain name is unusable, or None when it is fine."""
    if DOMAIN_PATTERN.fullmatch(domain):
        return None
    return f"domain_name {domain!r} is not a host name: type one such as 'api.example.com' (no scheme, no path)."


def timezone_error(name: str) -> str | None:
    """Return why a time zone is unusable, or None when it is fine."""
    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return f"timezone {name!r} is not an IANA time zone: type one such as 'UTC' or 'Europe/Paris'."
    return None


def text_error(name: str, value: str) -> str | None:
    """Return why a free-text answer cannot be written into settings and pyproject.toml, or None when it can."""
    if not value.strip():
        return f"{name} is empty: type some text."
    if '"' in value or "\\" in value:
        return f"{name} {value!r} holds a double quote or a backslash: type it without them (single quotes are fine)."
    return None


def answer_errors(answers: dict[str, str]) -> list[str]:
    """Return a message for each unusable answer."""
    checks = [
        slug_error(answers["project_slug"]),
        email_error(answers["author_email"]),
        domain_error(answers["domain_name"]),
        timezone_error(answers["timezone"]),
        *(text_error(name, answers[name]) for name in ("project_name", "description", "author_name")),
    ]
    return [message for message in checks if message]


def main() -> int:
    """Return the exit status after reporting every unusable answer."""
    # tojson renders each answer as a string literal, whatever quotes or backslashes it holds.
    answers = {
        "project_name": {{cookiecutter.project_name | tojson}},
        "description": {{cookiecutter.description | tojson}},
        "author_name": {{cookiecutter.author_name | tojson}},
        "project_slug": {{cookiecutter.project_slug | tojson}},
        "author_email": {{cookiecutter.author_email | tojson}},
        "domain_name": {{cookiecutter.domain_name | tojson}},
        "timezone": {{cookiecutter.timezone | tojson}},
    }
    errors = answer_errors(answers)
    for message in errors:
        print(f"ERROR: {message}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
