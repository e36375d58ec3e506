"""Page sizes are honoured up to the maximum, and anything else is a 400 rather than a silent change."""

import pytest
from django.contrib.auth.models import Group
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

pytestmark = pytest.mark.urls("tests.core.urls")


def test_pagination_uses_the_default_page_size(api_client: APIClient, settings: Settings) -> None:
    response = api_client.get("/numbers/")

    assert response.status_code == 200
    assert response.json()["results"] == list(range(1, 21))
    assert response.json()["count"] == 500


def test_pagination_honours_page_size_up_to_the_maximum(api_client: APIClient, settings: Settings) -> None:
    settings.API_MAX_PAGE_SIZE = 50

    response = api_client.get("/numbers/", {"page_size": 50, "page": 2})

    assert response.status_code == 200
    assert response.json()["results"] == list(range(51, 101))


@pytest.mark.parametrize("page_size", ["101", "0", "-1", "abc", "²", "1e3", "9" * 5000, "5\x00"])
def test_pagination_refuses_a_bad_page_size_with_400(api_client: APIClient, page_size: str) -> None:
    response = api_client.get("/numbers/", {"page_size": page_size})

    assert response.status_code == 400
    assert response.json() == {"page_size": ["Must be a whole number from 1 to 100."]}


def test_pagination_returns_json_404_for_a_page_past_the_end(api_client: APIClient) -> None:
    response = api_client.get("/numbers/", {"page": 999})

    assert response.status_code == 404
    assert "detail" in response.json()


@pytest.mark.django_db
def test_keyset_cursors_walk_every_row_once_forward_and_back(api_client: APIClient) -> None:
    names = [f"group {index:02}" for index in range(7)]
    for name in reversed(names):
        Group.objects.create(name=name)

    pages: list[list[str]] = []
    url: str | None = "/groups/?page_size=3"
    while url and len(pages) < 5:  # bounded: a cursor that fails to advance must fail, not hang
        body = api_client.get(url).json()
        pages.append([row["name"] for row in body["results"]])
        url, previous = body["next"], body["previous"]
    back = api_client.get(previous).json()

    assert pages == [names[0:3], names[3:6], names[6:]]
    assert [row["name"] for row in back["results"]] == names[3:6]


@pytest.mark.parametrize(
    "query", ["cursor=%%%", "cursor=WyItaWQiLGZhbHNlLFsxXV0", "ordering=nope", "page_size=0", "cursor=" + "A" * 2000]
)
@pytest.mark.django_db
def test_keyset_pagination_refuses_bad_parameters_with_400(api_client: APIClient, query: str) -> None:
    response = api_client.get(f"/groups/?{query}")

    assert response.status_code == 400
