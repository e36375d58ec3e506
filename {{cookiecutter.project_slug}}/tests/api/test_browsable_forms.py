"""In local settings the browsable API shows a signed-in user the write forms of the example API."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import Settings

from api.factories import ArticleFactory

pytestmark = pytest.mark.django_db
BROWSER = {"accept": "text/html"}


@pytest.fixture
def browser(settings: Settings, client: Client, staff_user: User) -> Client:
    """Return a browser signed in as staff, with the browsable API on as in local settings."""
    settings.API_BROWSABLE = True
    client.force_login(staff_user)
    return client


def test_the_article_list_shows_the_form_to_post_an_article(browser: Client) -> None:
    html = browser.get("/api/articles/", headers=BROWSER).content.decode()

    assert 'id="post-object-form"' in html
    assert 'name="title"' in html


def test_the_article_detail_shows_the_form_to_change_it_filled_in(browser: Client) -> None:
    article = ArticleFactory.create(title="Filled in")

    html = browser.get(f"/api/articles/{article.pk}/", headers=BROWSER).content.decode()

    assert 'id="put-object-form"' in html
    assert 'value="Filled in"' in html


def test_an_anonymous_visitor_gets_no_write_form(settings: Settings, client: Client) -> None:
    settings.API_BROWSABLE = True

    html = client.get("/api/articles/", headers=BROWSER).content.decode()

    assert 'id="post-object-form"' not in html
