"""Who may change what in the example API."""

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from api.models import Article, Author

# What request.user is: the signed-in user, or AnonymousUser.
Requester = User | AnonymousUser


def may_write_as(user: Requester, author: Author) -> bool:
    """Return whether the user may write as the author: they are its linked user, or staff."""
    return bool(user.is_staff or (author.user_id is not None and author.user_id == user.pk))


class IsArticleAuthorOrStaff(BasePermission):
    """Only the user linked to the article's author, or staff, may change an article."""

    message = "Only the article's author or staff may change it."

    def has_object_permission(self, request: Request, view: Any, obj: Article) -> bool:
        """Return whether the user wrote the article or is staff."""
        return may_write_as(request.user, obj.author)
