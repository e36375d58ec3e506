"""The example API from another origin: writes allowed by preflight, and a warm read still free of queries."""

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from api.factories import ArticleFactory
from tests.core.test_cors import cors_on

pytestmark = pytest.mark.django_db
ORIGIN = "https://app.example"


def test_a_preflight_allows_a_token_write_from_a_named_origin() -> None:
    with cors_on(ORIGIN):
        response = Client().options(
            "/api/articles/",
            headers={
                "origin": ORIGIN,
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type",
            },
        )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert {"authorization", "content-type"} <= set(response["Access-Control-Allow-Headers"].split(", "))


@pytest.mark.parametrize("url", ["/api/articles/", "/api/articles/{id}/"])
def test_a_warm_read_and_its_304_from_a_named_origin_cost_no_query_and_carry_the_cors_headers(
    django_assert_num_queries: DjangoAssertNumQueries, url: str
) -> None:
    url = url.format(id=ArticleFactory.create().pk)
    with cors_on(ORIGIN):
        client = Client(headers={"origin": ORIGIN})
        etag = client.get(url)["ETag"]

        with django_assert_num_queries(0):
            warm = client.get(url)
        with django_assert_num_queries(0):
            not_modified = client.get(url, headers={"if-none-match": etag})

    assert (warm.status_code, not_modified.status_code) == (200, 304)
    for response in (warm, not_modified):
        assert response["Access-Control-Allow-Origin"] == ORIGIN
        assert response["Vary"] == "origin"
