"""The admin change lists cost the same number of queries for one row as for many."""

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import DjangoAssertNumQueries

from api.factories import ArticleFactory, CommentFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/admin/api/article/", "/admin/api/comment/", "/admin/api/author/"])
def test_admin_change_list_queries_do_not_grow_with_rows(
    client: Client, staff_user: User, django_assert_num_queries: DjangoAssertNumQueries, url: str
) -> None:
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    CommentFactory.create(article=ArticleFactory.create(tags=[TagFactory.create()]))
    client.get(url)  # warm per-process caches (content types, permissions) so both counts compare like with like
    with CaptureQueriesContext(connection) as one_row:
        assert client.get(url).status_code == 200

    for _ in range(20):
        CommentFactory.create(article=ArticleFactory.create(tags=TagFactory.create_batch(2)))
    with django_assert_num_queries(len(one_row)):
        assert client.get(url).status_code == 200
