"""The edge's configuration and health: a bad purge URL stops start-up, and the health page reports each edge."""

import pytest
from django.test import Client, override_settings

from tests.core.fake_edge import fake_edge
from tests.core.test_settings import manage

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["127.0.0.1:6081", "https://edge.example", "http://:6081", "http://edge:port"])
def test_a_purge_url_that_is_not_http_host_port_stops_start_up_saying_what_to_write(value: str) -> None:
    result = manage("check", settings="settings.test", DJANGO_EDGE_PURGE_URLS=value)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"DJANGO_EDGE_PURGE_URLS: {value!r} is not an edge's address; write http://HOST:PORT, such as "
        "http://127.0.0.1:6081, comma-separated for several edges"
    ]


def test_health_reports_an_edge_that_accepts_purges_as_ok(client: Client) -> None:
    with fake_edge() as edge, override_settings(API_EDGE_PURGE_URLS=[edge.url]):
        body = client.get("/health/").json()

    assert body["status"] == "ok"
    assert body["checks"]["edge"] == "ok"
    assert body["edges"] == {edge.url.removeprefix("http://"): "ok"}
    assert [purge.keys for purge in edge.purges] == [None]  # a probe names no key: it purges nothing


def test_health_reports_an_edge_down_or_refusing_as_degraded_still_a_200(client: Client) -> None:
    with fake_edge() as refusing:
        refusing.status = 403
        with override_settings(API_EDGE_PURGE_URLS=[refusing.url, "http://127.0.0.1:9"]):
            response = client.get("/health/")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["edge"] == "degraded"
    assert response.json()["edges"] == {refusing.url.removeprefix("http://"): "refused", "127.0.0.1:9": "down"}


def test_health_says_nothing_of_an_edge_when_none_is_configured(client: Client) -> None:
    body = client.get("/health/").json()

    assert "edge" not in body["checks"]
    assert "edges" not in body
