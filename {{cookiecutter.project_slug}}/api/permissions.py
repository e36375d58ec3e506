"""Who may see and change what in the example API."""

from django.contrib.auth.models import AnonymousUser, User

from api.models import Article, Author

# What request.user is: the signed-in user, or AnonymousUser.
Requester = User | AnonymousUser

CHANGE_REFUSED = "Only the article's author or staff may change it."


def may_write_as(user: Requester, author: Author) -> bool:
    """Return whether the user may write as the author: they are its linked user, or staff."""
    return bool(user.is_staff or (author.user_id is not None and author.user_id == user.pk))


def may_change(user: Requester, article: Article) -> bool:
    """Return whether the user may change or delete the article: they wrote it, or they are staff."""
    return may_write_as(user, article.author)


def may_know_of(user: Requester, article: Article) -> bool:
    """Return whether the user may learn that the article exists: it is published, or they may change it."""
    return article.status == Article.Status.PUBLISHED or may_change(user, article)
