"""What django-silk records: a sample of /api/ requests, so profiling never touches the rest of the site."""

import random

from django.conf import settings
from django.http import HttpRequest


def intercept(request: HttpRequest) -> bool:
    """Return whether Silk should record this request."""
    # Sampling, not security: random is the right tool here.
    return request.path.startswith("/api/") and random.random() < getattr(settings, "SILK_SAMPLE_RATE", 0.0)  # noqa: S311
