"""Who may change what in the example API."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from api.models import Article


class IsArticleAuthorOrStaff(BasePermission):
    """Only the user linked to the article's author, or staff, may change an article."""

    message = "Only the article's author or staff may change it."

    def has_object_permission(self, request: Request, view: Any, obj: Article) -> bool:
        """Return whether the user wrote the article or is staff."""
        user = request.user
        return bool(user.is_staff or (obj.author.user_id is not None and obj.author.user_id == user.pk))
