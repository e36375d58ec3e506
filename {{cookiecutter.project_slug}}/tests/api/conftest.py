"""Fixtures of the example API's tests: writers with an author profile, and clients signed in with a token."""

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from api.factories import AuthorFactory
from api.models import Author
from tests.factories import UserFactory


@pytest.fixture
def writer(db: None) -> User:
    """Return a user linked to an author profile."""
    user = UserFactory.create()
    AuthorFactory.create(user=user, name="Writer")
    return user


@pytest.fixture
def writer_author(writer: User) -> Author:
    """Return the writer's author profile."""
    return Author.objects.get(user=writer)


def token_client(user: User) -> APIClient:
    """Return an API client that authenticates as the user with a DRF token."""
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def writer_client(writer: User) -> APIClient:
    """Return a client signed in as the writer."""
    return token_client(writer)
