"""The Server-Timing header: every part named, the parts adding up, queries and cache calls counted exactly."""

import re

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.db import connection
from django.http import HttpResponse, HttpResponseBase
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings

from core.observability import timing
from core.observability.timing import PARTS, ServerTimingMiddleware, Timings
from tests.core.test_backends import ON_REDIS
from tests.core.test_settings import PRODUCTION_SECRETS, manage

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls")]

ENTRY = re.compile(r'^(?P<name>[a-z]+);dur=(?P<dur>\d+\.\d{3})(?:;desc="(?P<desc>[^"]*)")?$')


def server_timing(response: HttpResponseBase) -> dict[str, tuple[float, str]]:
    """Return the response's Server-Timing entries: name to (milliseconds, description), in header order."""
    entries: dict[str, tuple[float, str]] = {}
    for entry in response.headers["Server-Timing"].split(", "):
        match = ENTRY.match(entry)
        assert match, f"malformed Server-Timing entry {entry!r}"
        entries[match["name"]] = (float(match["dur"]), match["desc"] or "")
    return entries


@pytest.fixture
def groups() -> None:
    """Create three groups with two permissions each."""
    permissions = list(Permission.objects.all()[:2])
    for name in ("editors", "readers", "writers"):
        Group.objects.create(name=name).permissions.set(permissions)


def test_server_timing_names_every_part_and_the_total(client: Client, groups: None) -> None:
    response = client.get("/groups/")

    assert list(server_timing(response)) == [*PARTS, "total"]


@pytest.mark.parametrize("path", ["/groups/", "/groups/serialized/", "/groups/999/", "/crash/"])
def test_server_timing_parts_add_up_to_the_total(path: str, groups: None) -> None:
    client = Client(raise_request_exception=False)
    client.get(path)  # a second request may be a cache hit: both kinds are checked across the cases

    entries = server_timing(client.get(path))

    parts = sum(entries[part][0] for part in PARTS)
    # Each value is rounded to the microsecond on its own.
    assert parts == pytest.approx(entries["total"][0], abs=0.001 * len(PARTS))
    assert entries["total"][0] > 0


def test_server_timing_counts_the_queries_the_request_runs(client: Client, groups: None) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/groups/serialized/")

    assert len(queries) == 2
    assert server_timing(response)["db"][1] == "2 queries"


def test_server_timing_counts_cache_misses_then_hits(client: Client, groups: None) -> None:
    cold = server_timing(client.get("/groups/"))
    warm = server_timing(client.get("/groups/"))

    # One get_many of the entry and the versions of Group and Permission: all missing, then all there. The miss adds
    # both versions and reads them back, takes the lock, reads and counts the client's miss budget, then stores the
    # entry and unlocks it: two calls, or one Redis pipeline.
    calls = 8 if ON_REDIS else 9
    assert cold["cache"][1].startswith(f"{calls} calls: 2 hits / 4 misses")
    assert warm["cache"][1] == "1 call: 3 hits / 0 misses"
    assert warm["db"][1] == "0 queries"


def test_server_timing_times_serializers_and_rendering(client: Client, groups: None) -> None:
    entries = server_timing(client.get("/groups/serialized/"))

    assert entries["serialize"][0] > 0
    assert entries["render"][0] > 0


def test_server_timing_shows_no_serializing_or_rendering_on_a_cache_hit(client: Client, groups: None) -> None:
    client.get("/groups/")

    entries = server_timing(client.get("/groups/"))

    assert entries["serialize"][0] == 0
    assert entries["render"][0] == 0


def test_timings_charge_each_moment_to_the_innermost_part(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([0.0, 1.0, 3.0, 4.0, 8.0, 9.0, 10.0, 10.0])
    monkeypatch.setattr(timing, "perf_counter", lambda: next(clock))
    timings = Timings()  # 0: other starts

    timings.enter("view")  # 1: other 1
    timings.enter("serialize")  # 3: view 2
    timings.enter("db")  # 4: serialize 1
    timings.leave()  # 8: db 4
    timings.leave()  # 9: serialize 1 more
    timings.leave()  # 10: view 1 more
    header = timings.header()  # 10: other 0 more

    assert header == (
        'db;dur=4000.000;desc="0 queries", cache;dur=0.000;desc="0 calls: 0 hits / 0 misses", serialize;dur=2000.000, '
        'render;dur=0.000, view;dur=3000.000;desc="routing and view code", other;dur=1000.000;desc="middleware", '
        "total;dur=10000.000"
    )


def test_server_timing_off_takes_both_middleware_out_of_the_chain(client: Client, settings: Settings) -> None:
    settings.SERVER_TIMING = "off"

    with pytest.raises(MiddlewareNotUsed):
        ServerTimingMiddleware(lambda request: HttpResponse())
    assert "Server-Timing" not in client.get("/groups/").headers


def test_server_timing_refuses_an_unknown_mode(settings: Settings) -> None:
    settings.SERVER_TIMING = "yes"

    with pytest.raises(ImproperlyConfigured, match="DJANGO_SERVER_TIMING is 'yes': use one of on, staff, off"):
        ServerTimingMiddleware(lambda request: HttpResponse())


def test_server_timing_for_staff_shows_only_to_staff(
    client: Client, settings: Settings, user: User, staff_user: User
) -> None:
    settings.SERVER_TIMING = "staff"

    anonymous = client.get("/groups/")
    client.force_login(user)
    regular = client.get("/groups/")
    client.force_login(staff_user)
    staff = client.get("/groups/")

    assert "Server-Timing" not in anonymous.headers
    assert "Server-Timing" not in regular.headers
    assert "Server-Timing" in staff.headers


def test_server_timing_at_a_zero_sample_rate_times_nothing(client: Client, settings: Settings) -> None:
    settings.SERVER_TIMING_SAMPLE_RATE = 0.0

    assert not any("Server-Timing" in client.get("/groups/").headers for _ in range(20))


SHOW_HEADER = (
    "from django.test import Client; "
    "print(Client().get('/health/', secure=True, headers={'host': 'api.example.com'}).headers.get('Server-Timing'))"
)


@pytest.mark.parametrize(("variable", "shown"), [({}, False), ({"DJANGO_SERVER_TIMING": "on"}, True)])
def test_production_adds_server_timing_only_when_a_setting_turns_it_on(variable: dict[str, str], shown: bool) -> None:
    result = manage("shell", "-c", SHOW_HEADER, settings="settings.production", **PRODUCTION_SECRETS, **variable)

    assert result.returncode == 0, result.stderr
    header = result.stdout.strip().splitlines()[-1]
    assert (header.startswith("db;dur=")) is shown, header


def test_server_timing_counts_a_get_many_of_an_iterator_of_keys_without_failing() -> None:
    timings = Timings()

    timing._count_hits(timings, "get_many", (iter(["a", "b"]),), {}, {"a": 1})

    assert (timings.cache_hits, timings.cache_misses) == (1, 0)
