"""Every response carries an X-Request-ID, the client's when well-formed, and every log line of the request has it."""

import logging
import re

import pytest
from django.contrib.auth.models import Group
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import URLPattern, path

from core.observability.request_id import NO_REQUEST, current_request_id
from core.toolkit.middleware import CachedReadMiddleware
from tests.core.log_lines import console_lines
from tests.core.test_database import database_down
from tests.core.urls import GroupListView, crash

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]
FRESH_ID = re.compile(r"[0-9a-f]{32}")


def log_and_answer(request: HttpRequest) -> HttpResponse:
    """Log a line from a library's logger, as any code running for the request might, and answer."""
    logging.getLogger("some.library").warning("Something worth a look")
    return HttpResponse(current_request_id())


urlpatterns: list[URLPattern] = [
    path("groups/", GroupListView.as_view()),
    path("crash/", crash),
    path("down/", database_down),
    path("log/", log_and_answer),
]
handler404 = "core.plumbing.exceptions.page_not_found"
handler500 = "core.plumbing.exceptions.server_error"


@pytest.mark.parametrize("given", ["abc", "a" * 128, "0f2c9a4e-6b1d-4c3e-9f7a-2d8e5b6c1a90", "lb:7.0_x-1"])
def test_a_well_formed_request_id_is_returned_as_given(given: str) -> None:
    response = Client().get("/log/", headers={"X-Request-ID": given})

    assert response["X-Request-ID"] == given
    assert response.content.decode() == given  # and it is the current id while the view runs


@pytest.mark.parametrize(
    "hostile",
    ["", "a" * 129, "two words", "forged\nERROR line", "id\r\nSet-Cookie: x=1", "<script>", "caf\u00e9", "a/b", "%0A"],
)
def test_a_hostile_request_id_is_replaced_by_a_fresh_one(hostile: str) -> None:
    response = Client().get("/log/", headers={"X-Request-ID": hostile})

    assert FRESH_ID.fullmatch(response["X-Request-ID"])
    assert response.content.decode() == response["X-Request-ID"]


def test_a_request_without_an_id_gets_a_fresh_one_each_time() -> None:
    first, second = Client().get("/log/"), Client().get("/log/")

    assert FRESH_ID.fullmatch(first["X-Request-ID"])
    assert FRESH_ID.fullmatch(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.parametrize("conditional", [False, True])
def test_a_cached_hit_answered_early_carries_the_request_id(
    monkeypatch: pytest.MonkeyPatch, conditional: bool
) -> None:
    Group.objects.create(name="editors")
    etag = Client().get("/groups/")["ETag"]
    answers: list[object] = []
    answer = CachedReadMiddleware._answer

    def spy(self: CachedReadMiddleware, request: HttpRequest) -> object:
        answers.append(answer(self, request))
        return answers[-1]

    monkeypatch.setattr(CachedReadMiddleware, "_answer", spy)
    headers = {"X-Request-ID": "hit-1", **({"If-None-Match": etag} if conditional else {})}

    response = Client().get("/groups/", headers=headers)

    assert response.status_code == (304 if conditional else 200)
    assert answers == [response]  # answered by the middleware, ahead of the view
    assert response["X-Request-ID"] == "hit-1"


@pytest.mark.parametrize(
    ("url", "status"), [("/no-such-page/", 404), ("/crash/", 500), ("/down/", 503)], ids=["404", "500", "503"]
)
def test_an_error_response_carries_the_request_id(url: str, status: int) -> None:
    client = Client(raise_request_exception=False)

    response = client.get(url, headers={"X-Request-ID": "err-1"})

    assert response.status_code == status
    assert response.json()["code"]  # the project's JSON error, not Django's page
    assert response["X-Request-ID"] == "err-1"


def test_every_line_logged_during_a_request_carries_its_id_whichever_logger_wrote_it() -> None:
    with console_lines() as lines:
        Client().get("/log/", headers={"X-Request-ID": "log-1"})
        Client().get("/no-such-page/", headers={"X-Request-ID": "log-2"})
        logging.getLogger("some.library").warning("Between requests")

    found = {(line["logger"], line["message"]): line["request_id"] for line in lines.json()}
    assert found == {
        ("some.library", "Something worth a look"): "log-1",
        # Django logs a 4xx once the whole middleware chain has returned: the id is still the request's.
        ("django.request", "Not Found: /no-such-page/"): "log-2",
        ("some.library", "Between requests"): NO_REQUEST,
    }


def test_the_error_of_a_500_is_logged_with_the_request_id_and_its_traceback() -> None:
    with console_lines() as lines:
        Client(raise_request_exception=False).get("/crash/", headers={"X-Request-ID": "crash-1"})

    (line,) = lines.json("django.request")
    assert line["request_id"] == "crash-1"
    assert line["level"] == "ERROR"
    assert "RuntimeError: boom" in line["exception"]


def test_the_plain_format_shows_the_request_id_too() -> None:
    with console_lines(json_format=False) as lines:
        Client().get("/log/", headers={"X-Request-ID": "plain-1"})

    assert " WARNING some.library plain-1 Something worth a look" in lines.text()
