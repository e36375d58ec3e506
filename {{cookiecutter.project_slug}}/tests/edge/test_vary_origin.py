"""CORS at the edge (deploy/varnish/default.vcl): a read that varies on Origin is kept per origin, and purged whole.

With a list of origins, the app's public reads name the calling origin and carry ``Vary: Origin``
(core/plumbing/cors.py): the edge must never hand one site's copy to another. With ``*`` they carry no Vary, and every
site shares one copy.
"""

import pytest

from tests.edge.conftest import Edge

pytestmark = pytest.mark.varnish


def test_a_read_varying_on_origin_is_kept_once_per_origin(edge: Edge, path: str) -> None:
    edge.backend.public(path, keys="api.article")
    edge.backend.replies[path].headers["Vary"] = "origin"

    first_a = edge.get(path, {"Origin": "https://a.example"})
    again_a = edge.get(path, {"Origin": "https://a.example"})
    first_b = edge.get(path, {"Origin": "https://b.example"})
    without_origin = edge.get(path)

    assert (first_a.cache, again_a.cache, first_b.cache, without_origin.cache) == ("MISS", "HIT", "MISS", "MISS")
    assert again_a.body == f"{path} fetch 1"
    assert first_b.body == f"{path} fetch 2"
    assert edge.backend.count(path) == 3


def test_a_purge_drops_the_copy_of_every_origin(edge: Edge, path: str) -> None:
    edge.backend.public(path, keys="api.article:7")
    edge.backend.replies[path].headers["Vary"] = "origin"
    for origin in ("https://a.example", "https://b.example"):
        edge.get(path, {"Origin": origin})

    assert edge.purge("api.article:7").status == 200

    again = [edge.get(path, {"Origin": origin}).cache for origin in ("https://a.example", "https://b.example")]
    assert again == ["MISS", "MISS"]


def test_a_read_that_does_not_vary_is_one_copy_for_every_origin(edge: Edge, path: str) -> None:
    edge.backend.public(path)

    first = edge.get(path, {"Origin": "https://a.example"})
    other_site = edge.get(path, {"Origin": "https://b.example"})

    assert (first.cache, other_site.cache) == ("MISS", "HIT")
    assert edge.backend.count(path) == 1
