"""factory-boy factories for the project's users; the example API keeps its own in api/factories.py."""

import factory
from django.contrib.auth.models import User
from factory.django import DjangoModelFactory

PASSWORD = "correct horse battery staple"


class UserFactory(DjangoModelFactory[User]):
    """A user whose password is PASSWORD."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password(PASSWORD)
