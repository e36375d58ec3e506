"""Conditional writes: a change applies only to the representation the client last saw (RFC 9110 section 13.1.1).

A client sends the ETag it holds in ``If-Match``; the write goes ahead only while that is still the current ETag, and
is refused with a 412 otherwise, so two clients editing the same copy cannot overwrite each other unknowingly.
``If-Match: *`` asks only that the resource exists. The caller evaluates this under the lock its write takes, so no
other write can land between the check and the change.
"""

from collections.abc import Callable
from typing import Any

from django.utils.http import parse_etags
from rest_framework import status
from rest_framework.exceptions import APIException

from core.toolkit.caching import etag_for
from core.toolkit.renderers import dumps


class PreconditionFailed(APIException):
    """The resource changed since the ETag the client sent in If-Match."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "It changed since the ETag sent in If-Match: fetch it again and reapply the change."
    default_code = "precondition_failed"


def check_if_match(if_match: str | None, current_etag: Callable[[], str]) -> None:
    """Raise PreconditionFailed unless If-Match is absent, ``*``, or lists the current ETag.

    ``current_etag`` is called only when an ETag must be compared, since building it may cost queries.
    """
    if if_match is None:
        return
    etags = parse_etags(if_match)
    if etags == ["*"]:  # the caller found the resource, which is all "*" asks
        return
    # Strong comparison (RFC 9110 section 8.8.3.2): a weak ETag in If-Match never matches, and garbage parses to [].
    if current_etag() not in etags:
        raise PreconditionFailed


def etag_of(data: Any) -> str:
    """Return the ETag of a representation as a cached read sends it: the digest of the bytes the API renders."""
    return etag_for(dumps(data))
