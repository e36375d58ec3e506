"""With an edge configured, public reads name their surrogate keys and every committed write purges them.

The edge is a stand-in that records the purges (``tests/core/fake_edge.py``); ``tests/edge/`` runs the real Varnish.
"""

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from api.factories import ArticleFactory
from api.models import Article, Author
from core.toolkit.caching import object_version_key, version_key
from tests.core.fake_edge import FakeEdge, fake_edge

pytestmark = pytest.mark.django_db(transaction=True)
LIST_KEYS = "api.article api.author api.tag api.comment"


@pytest.fixture
def edge() -> Iterator[FakeEdge]:
    """Configure a fake edge for the test."""
    with fake_edge() as running, override_settings(API_EDGE_PURGE_URLS=[running.url]):
        yield running


def test_a_public_read_names_the_models_it_shows_for_the_edge_to_keep(edge: FakeEdge) -> None:
    ArticleFactory.create()
    client = APIClient()

    for _ in range(2):  # the miss that stores, then the hit
        response = client.get("/api/articles/")

        assert response.headers["xkey"] == LIST_KEYS
        assert response.headers["Surrogate-Control"] == (
            "max-age=3600, stale-while-revalidate=10, stale-if-error=86400"
        )


def test_a_detail_names_its_object_so_a_change_of_another_object_leaves_it_at_the_edge(edge: FakeEdge) -> None:
    article = ArticleFactory.create()

    response = APIClient().get(f"/api/articles/{article.pk}/")

    assert response.headers["xkey"].split() == [
        "api.author",
        "api.tag",
        f"api.article:{article.pk}",
        "api.article#objects",
    ]


def test_a_user_s_own_read_a_404_and_a_304_s_absence_of_body_carry_no_key_where_nothing_may_be_kept(
    edge: FakeEdge, writer_client: APIClient
) -> None:
    mine = writer_client.get("/api/me/articles/")
    missing = APIClient().get("/api/articles/999999/")

    assert mine.status_code == 200
    assert "xkey" not in mine.headers
    assert "Surrogate-Control" not in mine.headers
    assert missing.status_code == 404
    assert "xkey" not in missing.headers


def test_a_committed_write_purges_its_keys_after_the_bump_and_before_its_response(
    edge: FakeEdge, writer_client: APIClient, writer_author: Author
) -> None:
    article = ArticleFactory.create(author=writer_author)
    key = object_version_key(Article, article.pk)
    before = cache.get(key)
    edge.observe = lambda: cache.get(key)
    earlier = len(edge.purges)  # the article's creation purged too

    response = writer_client.patch(f"/api/articles/{article.pk}/", {"title": "Changed"}, format="json")

    assert response.status_code == 200
    purged = [p for p in edge.purges[earlier:] if p.keys and f"api.article:{article.pk}" in p.keys.split()]
    assert purged, edge.purges
    # The edge heard of the write once the new version was in the cache: what it fetched next was current.
    assert all(purge.observed not in (None, before) for purge in purged)
    assert "api.article" in purged[0].keys.split()  # type: ignore[union-attr]
    assert cache.get(version_key(Article)) is not None


def test_an_edge_that_is_down_or_refuses_costs_a_logged_warning_never_the_write(
    writer_client: APIClient, caplog: pytest.LogCaptureFixture
) -> None:
    with fake_edge() as refusing:
        refusing.status = 403
        down = "http://127.0.0.1:9"  # the discard port: nothing listens on loopback
        with override_settings(API_EDGE_PURGE_URLS=[refusing.url, down]):
            response = writer_client.post(
                "/api/articles/", {"title": "Despite the edge", "body": "Text.", "status": "published"}
            )

    assert response.status_code == 201
    messages = [record.getMessage() for record in caplog.records if record.name == "core.toolkit.edge"]
    assert any("refused" in message and "403" in message for message in messages)
    assert any("failed at 127.0.0.1:9" in message for message in messages)


def test_without_an_edge_nothing_is_purged_and_reads_carry_no_edge_header(writer_client: APIClient) -> None:
    with fake_edge() as unconfigured:
        writer_client.post("/api/articles/", {"title": "No edge", "body": "Text.", "status": "published"})
        response = APIClient().get("/api/articles/")

    assert unconfigured.purges == []
    assert "xkey" not in response.headers
    assert "Surrogate-Control" not in response.headers


def test_the_key_header_is_the_edge_s_own(edge: FakeEdge) -> None:
    with override_settings(API_EDGE_KEY_HEADER="Surrogate-Key"):
        response = APIClient().get("/api/articles/")

    assert response.headers["Surrogate-Key"] == LIST_KEYS
    assert "xkey" not in response.headers
