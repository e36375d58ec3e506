"""The names that hold secrets, and their values replaced wherever a request's data leaves the process.

One pattern serves the request log (query strings) and Sentry (every key of an event, at any depth): a name containing
one of its words is taken to hold a secret (``access_token``, ``X-CSRFToken``, ``sessionid``, ``db_password``,
``x-api-key``), and its value is replaced by ``REDACTED``.
"""

import re
from typing import Any
from urllib.parse import unquote_plus

# "key" and "auth" only as words of their own: "api_key" and "X-Auth" hold secrets, "monkey" and "author" do not.
SENSITIVE = re.compile(
    r"passw|pwd|secret|token|apikey|(?<![a-z])key(?![a-z])|(?<![a-z])auth(?![a-z])|authorization|session|cookie"
    r"|csrf|xsrf|credential|signature",
    re.IGNORECASE,
)
# Sentry's own placeholder, so both read the same in a report.
REDACTED = "[Filtered]"
# Deeper than any event sentry-sdk builds (its serializer stops at 10 levels): past it, a value is dropped unread.
MAX_DEPTH = 32
_QUERY_PAIR = re.compile(r"([^&;=]*)=([^&;]*)")
# Keys whose values are query strings (a report's request, its outgoing HTTP spans): sensitive values are redacted.
QUERY_KEYS = frozenset({"query_string", "http.query"})


def is_sensitive(name: str) -> bool:
    """Return whether a name looks like it holds a secret."""
    return SENSITIVE.search(name) is not None


def redact_query(query: str) -> str:
    """Return a query string with the value of each sensitive name replaced; the names and the rest kept."""
    # The common query names no secret: one scan, no parsing. A "%" may hide one in an encoded name ("%74oken").
    if "%" not in query and SENSITIVE.search(query) is None:
        return query
    return _QUERY_PAIR.sub(_redact_pair, query)


def _redact_pair(match: re.Match[str]) -> str:
    """Return ``name=value``, its value replaced when the (decoded) name is sensitive."""
    return f"{match[1]}={REDACTED}" if is_sensitive(unquote_plus(match[1])) else match[0]


def scrub(value: Any, depth: int = 0) -> Any:
    """Return value with every sensitive key's value replaced, in dictionaries and lists at any depth.

    The query strings under ``QUERY_KEYS`` keep their names, with the values of the sensitive ones replaced.
    """
    if depth > MAX_DEPTH:
        return REDACTED
    if isinstance(value, dict):
        return {key: _scrub_item(key, item, depth) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, depth + 1) for item in value]
    return value


def _scrub_item(key: object, item: Any, depth: int) -> Any:
    """Return a dictionary item's value: replaced under a sensitive key, redacted for a query string, else scrubbed."""
    if not isinstance(key, str):
        return scrub(item, depth + 1)
    if is_sensitive(key):
        return REDACTED
    if key in QUERY_KEYS and isinstance(item, str):
        return redact_query(item)
    return scrub(item, depth + 1)
