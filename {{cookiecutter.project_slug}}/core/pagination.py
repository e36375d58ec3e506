"""Page-number pagination that refuses a bad page size instead of silently changing it."""

from django.conf import settings
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's page-number pagination with ``?page_size=`` up to ``API_MAX_PAGE_SIZE``."""

    page_size_query_param = "page_size"

    def __init__(self) -> None:
        self.max_page_size: int = settings.API_MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int | None:
        """Return the requested page size, or raise a 400 when it is not a whole number from 1 to the maximum."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        # isascii() keeps out digits int() rejects ("²"); the length cap keeps out ones too long to convert.
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 9 and 1 <= int(raw) <= self.max_page_size):
            message = f"Must be a whole number from 1 to {self.max_page_size}."
            raise ValidationError({self.page_size_query_param: message})
        return int(raw)
