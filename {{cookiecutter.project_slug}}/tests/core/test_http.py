"""The response of a cache entry: a matching If-None-Match answered as Django's precondition evaluation answers it."""

import time

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.cache import get_conditional_response

from core.toolkit.caching import CachedResponse
from core.toolkit.http import JSON_CONTENT_TYPE, _cache_headers, entry_response

ENTRY = CachedResponse((1, 2), 200, '"abc"', b'{"id":1}', time.time() + 3600)


@pytest.mark.parametrize(
    "if_none_match", ['"abc"', 'W/"abc"', '"other", "abc"', "*", '"other"', "not an etag", '"abc" garbage']
)
@pytest.mark.parametrize("per_user", [False, True])
def test_the_304_shortcut_answers_as_django_evaluates_if_none_match(if_none_match: str, per_user: bool) -> None:
    request = RequestFactory().get("/", headers={"If-None-Match": if_none_match})
    full = _cache_headers(HttpResponse(ENTRY.body, content_type=JSON_CONTENT_TYPE), ENTRY, per_user=per_user)
    django = get_conditional_response(request, etag=ENTRY.etag, response=full) or full

    ours = entry_response(request, ENTRY, per_user=per_user)

    assert isinstance(ours, HttpResponse)
    assert isinstance(django, HttpResponse)
    assert (ours.status_code, dict(ours.headers), ours.content) == (
        django.status_code,
        dict(django.headers),
        django.content,
    )


def test_if_match_beside_if_none_match_takes_djangos_full_evaluation() -> None:
    request = RequestFactory().get("/", headers={"If-None-Match": '"abc"', "If-Match": '"other"'})

    assert entry_response(request, ENTRY, per_user=False).status_code == 412
