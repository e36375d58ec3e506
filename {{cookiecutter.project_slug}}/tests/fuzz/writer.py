"""The fuzz run's writer: a user linked to an author, signed in with a token the runner chooses."""

from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from api.models import Author

WRITER = "fuzz-writer"


def fuzz_writer_create(*, token: str) -> None:
    """Create the writer, its author and its token, or reset them to ``token`` if they exist."""
    user, _ = User.objects.get_or_create(username=WRITER)
    Author.objects.update_or_create(user=user, defaults={"name": "Fuzz Writer", "email": f"{WRITER}@example.com"})
    Token.objects.filter(user=user).delete()
    Token.objects.create(user=user, key=token)
