"""Every operation of the live OpenAPI document, fuzzed with schemathesis, anonymously and as a writer.

One gunicorn (gunicorn.conf.py, the production settings, the configured database and cache) serves the project on
a free loopback port, migrated and seeded with the demo data, its throttles raised so that generated requests
reach the views instead of a 429. schemathesis reads ``/api/schema/`` from it and sends each operation up to
FUZZ_EXAMPLES requests per phase (boundary values of every parameter, random valid and invalid data, then chains
of operations linked by the ids they return), once without credentials and once with the token of a user linked
to an author. A run fails on a 5xx, on a response the document does not describe (its status, content type,
headers or body), and on a request the document calls invalid that is accepted.
"""

import os
import secrets
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.perf.servers import PROJECT, free_port, gunicorn, manage, prepare, production_env

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
# More schemathesis options, such as --seed 1, --phases fuzzing or --include-path-regex comments.
EXTRA_ARGS = shlex.split(os.environ.get("FUZZ_ARGS", ""))
DEMO_ARTICLES = 200
WORKERS = 2
# High enough that no generated request is throttled: a 429 is documented, but it would stop the views being fuzzed.
UNTHROTTLED = dict.fromkeys(
    (
        "DJANGO_THROTTLE_ANON",
        "DJANGO_THROTTLE_USER",
        "DJANGO_THROTTLE_COMMENTS",
        "DJANGO_THROTTLE_EXPORT",
        "DJANGO_API_CACHE_MISS_RATE",
    ),
    "1000000/minute",
) | {"DJANGO_API_EXPORT_JOBS_PER_USER": "1000000"}
# A 5xx, or a response the document does not describe (status, content type, headers, body), fails; and so does a
# request the document calls invalid that gets a 2xx (a number sent as a title). Not positive_data_acceptance:
# a cursor, tag or author id that has the documented form but matches nothing is rightly a 400.
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
]
REQUEST_TIMEOUT = 60
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")
# The server's log: every request it refused, and the traceback of any 5xx.
SERVER_LOG = PROJECT / "var" / "fuzz-server.log"


@dataclass(frozen=True)
class FuzzedServer:
    """The fuzzed server's base URL and the writer's token."""

    base: str
    writer_token: str


@pytest.fixture(scope="session")
def fuzzed_server() -> Iterator[FuzzedServer]:
    """Serve the project with gunicorn, migrated, seeded and with a writer; yield its URL and the writer's token."""
    token = secrets.token_hex(20)
    env = production_env(**UNTHROTTLED)
    prepare(env)
    manage("seed_demo", "--articles", str(DEMO_ARTICLES), env=env)
    create = f"from tests.fuzz.writer import fuzz_writer_create; fuzz_writer_create(token={token!r})"
    manage("shell", "--verbosity", "0", "--command", create, env=env)
    with gunicorn(free_port(), workers=WORKERS, env=env, log=SERVER_LOG) as base:
        yield FuzzedServer(base=base, writer_token=token)


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "writer"])
def test_fuzz_api_answers_every_request_as_documented(fuzzed_server: FuzzedServer, signed_in: bool) -> None:
    credentials = ["--header", f"Authorization: Token {fuzzed_server.writer_token}"] if signed_in else []
    command = [
        str(SCHEMATHESIS), "--config-file", str(CONFIG), "run", f"{fuzzed_server.base}/api/schema/?format=json",
        "--checks", ",".join(CHECKS),
        "--max-examples", str(EXAMPLES),
        "--workers", str(WORKERS),
        "--request-timeout", str(REQUEST_TIMEOUT),
        "--generation-database", "none",
        *credentials,
        *EXTRA_ARGS,
    ]  # fmt: skip

    # schemathesis prints its progress and, for each failure, the response and a curl command that reproduces it.
    result = subprocess.run(command, cwd=PROJECT, check=False)

    assert result.returncode == 0, f"schemathesis found failures (see above); the server's log is {SERVER_LOG}"
