"""CORS: off unless origins are named, each origin checked at start-up, and a cached hit still one round trip."""

from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, include, path
from pytest_django import DjangoAssertNumQueries

from core.plumbing.cors import MIDDLEWARE, cors_settings, install_cors, parse_origins
from tests.core import urls as core_urls
from tests.core.conftest import CacheSpy
from tests.core.test_settings import manage

# The toolkit's test views, under /api/ (where CORS applies) and at the root (where it does not).
urlpatterns: list[URLPattern | URLResolver] = [path("api/", include(core_urls)), *core_urls.urlpatterns]
handler404 = core_urls.handler404
handler500 = core_urls.handler500

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]
ORIGINS = "https://a.example, https://b.example"


def cors_on(origins: str = ORIGINS, *, credentials: bool = False) -> override_settings:
    """Return settings with CORS installed as settings/base.py installs it for these origins."""
    namespace: dict[str, Any] = {"MIDDLEWARE": settings.MIDDLEWARE, "INSTALLED_APPS": settings.INSTALLED_APPS}
    install_cors(namespace, cors_settings(origins, credentials=credentials))
    return override_settings(**namespace)


def vary(response: Any) -> set[str]:
    """Return the request headers a response varies on, in lower case."""
    return {name.strip().lower() for name in response.get("Vary", "").split(",") if name.strip()}


def test_origins_are_read_as_browsers_send_them() -> None:
    assert parse_origins(" https://App.Example , http://localhost:3000,, ") == [
        "https://app.example",
        "http://localhost:3000",
    ]


@pytest.mark.parametrize(
    "origin",
    [
        "https://a.example/",
        "https://a.example/api",
        "a.example",
        "https://user@a.example",
        "https://a.example?x=1",
        "https://a.example:99999",
        "https://",
        "null",
    ],
)
def test_a_value_that_is_not_an_origin_is_refused_by_name(origin: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="is not an origin: write scheme://host"):
        parse_origins(f"https://ok.example, {origin}")


def test_an_origin_with_its_default_port_is_refused_with_the_spelling_browsers_send() -> None:
    with pytest.raises(ImproperlyConfigured) as refused:
        parse_origins("https://a.example:443")

    assert str(refused.value).endswith("leave out of Origin: write https://a.example.")


def test_any_origin_must_be_given_alone_and_never_with_credentials() -> None:
    assert cors_settings("*")["CORS_ALLOW_ALL_ORIGINS"] is True
    with pytest.raises(ImproperlyConfigured, match="give it alone"):
        parse_origins("*, https://a.example")
    with pytest.raises(ImproperlyConfigured, match="name the origins"):
        cors_settings("*", credentials=True)


def test_a_bad_origin_stops_start_up_with_one_line() -> None:
    result = manage("check", settings="settings.test", DJANGO_CORS_ALLOWED_ORIGINS="https://a.example/")

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "DJANGO_CORS_ALLOWED_ORIGINS: 'https://a.example/' is not an origin: "
        "write scheme://host[:port], with no path or trailing slash."
    ]


def test_named_origins_install_the_middleware_right_above_the_cached_reads() -> None:
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.MIDDLEWARE); print(settings.CORS_ALLOWED_ORIGINS)",
        settings="settings.test",
        DJANGO_CORS_ALLOWED_ORIGINS="https://a.example",
    )

    assert result.returncode == 0, result.stderr
    middleware, origins = result.stdout.strip().splitlines()[-2:]
    assert f"'{MIDDLEWARE}', 'core.toolkit.middleware.CachedReadMiddleware'" in middleware
    assert origins == "['https://a.example']"


def test_cors_is_off_by_default() -> None:
    assert cors_settings("") == {}
    assert "corsheaders" not in settings.INSTALLED_APPS
    assert MIDDLEWARE not in settings.MIDDLEWARE

    response = Client().get("/api/groups/", headers={"origin": "https://a.example"})

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response
    assert "origin" not in vary(response)


def test_a_preflight_from_a_named_origin_is_allowed_with_the_api_headers() -> None:
    with cors_on():
        response = Client().options(
            "/api/groups/",
            headers={
                "origin": "https://a.example",
                "access-control-request-method": "GET",
                "access-control-request-headers": "authorization, if-none-match, x-request-id",
            },
        )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://a.example"
    allowed = {name.strip() for name in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "if-none-match", "x-request-id", "content-type"} <= allowed
    assert "GET" in response["Access-Control-Allow-Methods"]
    assert response["Access-Control-Max-Age"] == "7200"
    assert "Access-Control-Allow-Credentials" not in response


def test_an_origin_not_named_gets_no_allow_origin() -> None:
    with cors_on():
        preflight = Client().options(
            "/api/groups/", headers={"origin": "https://evil.example", "access-control-request-method": "GET"}
        )
        read = Client().get("/api/groups/", headers={"origin": "https://evil.example"})

    assert "Access-Control-Allow-Origin" not in preflight
    assert read.status_code == 200
    assert "Access-Control-Allow-Origin" not in read
    assert "origin" in vary(read)


def test_pages_outside_the_api_get_no_cors_headers() -> None:
    with cors_on():
        response = Client().get("/groups/", headers={"origin": "https://a.example"})

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response
    assert "origin" not in vary(response)


def test_a_cached_hit_from_a_named_origin_is_one_round_trip_and_no_query(
    spy: CacheSpy, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with cors_on():
        client = Client(headers={"origin": "https://a.example"})
        client.get("/api/groups/")
        spy.calls.clear()

        with django_assert_num_queries(0):
            response = client.get("/api/groups/")

    assert response.status_code == 200
    assert spy.calls == ["get_many"]
    assert response["Access-Control-Allow-Origin"] == "https://a.example"
    assert "ETag" in response["Access-Control-Expose-Headers"]
    assert "origin" in vary(response)


def test_every_origin_shares_one_entry_and_the_entry_holds_no_cors_header(
    spy: CacheSpy, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with cors_on():
        first = Client().get("/api/groups/", headers={"origin": "https://a.example"})
        spy.calls.clear()
        with django_assert_num_queries(0):
            second = Client().get("/api/groups/", headers={"origin": "https://b.example"})
            same_site = Client().get("/api/groups/")

    assert spy.calls == ["get_many", "get_many"]
    assert second.content == first.content
    assert second["ETag"] == first["ETag"]
    assert second["Access-Control-Allow-Origin"] == "https://b.example"
    assert "Access-Control-Allow-Origin" not in same_site


def test_a_304_from_a_named_origin_carries_the_cors_headers() -> None:
    with cors_on():
        client = Client(headers={"origin": "https://a.example"})
        etag = client.get("/api/groups/")["ETag"]

        response = client.get("/api/groups/", headers={"if-none-match": etag})

    assert response.status_code == 304
    assert response["Access-Control-Allow-Origin"] == "https://a.example"
    assert "origin" in vary(response)


def test_any_origin_answers_every_request_alike_so_shared_caches_keep_one_copy(
    spy: CacheSpy, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with cors_on("*"):
        Client().get("/api/groups/")
        spy.calls.clear()
        with django_assert_num_queries(0):
            from_a_site = Client().get("/api/groups/", headers={"origin": "https://anyone.example"})
            without_origin = Client().get("/api/groups/")

    assert spy.calls == ["get_many", "get_many"]
    for response in (from_a_site, without_origin):
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "ETag" in response["Access-Control-Expose-Headers"]
        assert "origin" not in vary(response)


def test_credentials_are_allowed_only_when_switched_on() -> None:
    with cors_on(credentials=True):
        response = Client().get("/api/groups/", headers={"origin": "https://a.example"})

    assert response["Access-Control-Allow-Origin"] == "https://a.example"
    assert response["Access-Control-Allow-Credentials"] == "true"
