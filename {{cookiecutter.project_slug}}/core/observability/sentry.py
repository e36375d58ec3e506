"""Error reports to Sentry: on only when ``SENTRY_DSN`` is set, and never with a secret in them.

``init_sentry()``, called by the production settings, reads ``SENTRY_DSN``, ``SENTRY_ENVIRONMENT`` ("production"),
``SENTRY_RELEASE`` and ``SENTRY_TRACES_SAMPLE_RATE`` (0: errors only, no tracing at all). Without a DSN it returns at
once and sentry-sdk is never imported; a DSN or a rate that is not valid stops start-up with a one-line reason.

What never leaves the process: request bodies (``max_request_body_size="never"``), cookies, the ``Authorization``,
``Cookie``, ``X-CSRFToken`` and ``Proxy-Authorization`` headers, the users (``send_default_pii=False``), the frames'
local variables (they hold bodies and credentials under names no rule can recognise), the value of any key whose
name looks sensitive (core/observability/redaction.py) anywhere in an event or a transaction, breadcrumbs and spans
included, and the values of sensitive names in query strings. Each event carries the request's id as the tag
``request_id`` (core/observability/request_id.py).
"""

import math
from collections.abc import Mapping
from typing import Any

from core.observability.redaction import scrub

# Removed from a report's request whatever their content; scrub() would catch them by name too.
DROPPED_HEADERS = frozenset({"authorization", "cookie", "x-csrftoken", "proxy-authorization"})
# The request log is for the log stream: as breadcrumbs it would cost every request and show in no report.
REQUEST_LOGGER = "core.requests"


def init_sentry(environ: Mapping[str, str], **options: Any) -> bool:
    """Turn Sentry on when ``SENTRY_DSN`` is set and return True; return False without one; exit on a bad value.

    ``options`` go to ``sentry_sdk.init`` as they are (the tests pass a ``transport``).
    """
    dsn = environ.get("SENTRY_DSN", "").strip()
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import ignore_logger
    from sentry_sdk.utils import BadDsn, Dsn

    try:
        Dsn(dsn)
    except BadDsn as exc:
        # The DSN itself is not repeated: it holds the project's key.
        raise SystemExit(f"SENTRY_DSN is not a Sentry DSN: {exc}") from None
    rate = traces_sample_rate(environ.get("SENTRY_TRACES_SAMPLE_RATE", "0"))
    sentry_sdk.init(
        dsn=dsn,
        environment=environ.get("SENTRY_ENVIRONMENT", "").strip() or "production",
        release=environ.get("SENTRY_RELEASE", "").strip() or None,
        # None, not 0, when no request is traced: sentry-sdk then counts tracing as off, not as sampled at 0.
        traces_sample_rate=rate or None,
        # A span around each signal receiver is on by default, traced or not: 9 a request, which doubled what Sentry
        # costs a cached hit (measured in process). Only traced requests pay for them.
        integrations=[DjangoIntegration(signals_spans=bool(rate))],
        # Deprecated in sentry-sdk 2.75 for data_collection, which the versions before it (the floor is 2.20) do not
        # know; given all the same, so no future default can start sending users, cookies or bodies.
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        before_send=before_send,
        before_send_transaction=before_send,
        **options,
    )
    ignore_logger(REQUEST_LOGGER)
    return True


def traces_sample_rate(value: str) -> float:
    """Return the share of requests traced, from 0 to 1, or stop start-up naming the bad value."""
    try:
        rate = float(value)
    except ValueError:
        rate = math.nan
    if not 0.0 <= rate <= 1.0:
        raise SystemExit(f"SENTRY_TRACES_SAMPLE_RATE must be a number from 0 to 1: {value!r}")
    return rate


def before_send(event: Any, hint: Any) -> Any:
    """Return the event (or transaction) without the request's body, cookies and credentials, nor any secret."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {name: item for name, item in headers.items() if name.lower() not in DROPPED_HEADERS}
    return scrub(event)
