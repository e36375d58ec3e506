"""What django-silk records: a sample of /api/ requests, and never a secret they carry.

Silk itself masks the Authorization and Cookie headers and body fields named like ``SILKY_SENSITIVE_KEYS``, but
stores query strings, SQL with its parameters, and response headers and bodies as they are. So when Silk starts
recording a request, ``intercept`` notes the request's secret values: its credentials, its cookies, and the values
of sensitive fields in its query string and body. Then:

- a query whose SQL holds one of them (the token or session lookup) is not recorded: ``SILKY_IGNORE_QUERIES`` is
  ``CurrentSecrets()``;
- every text Silk saves for the request and its response has them masked, and so do sensitive fields of JSON
  response bodies and every request or response header whose name looks sensitive (``X-Api-Key``,
  ``X-Auth-Token``, ``Set-Cookie``...: Silk itself masks only headers named exactly like a sensitive key).

Besides the sample rate, each process records at most ``SILK_MAX_PER_MINUTE`` requests a minute, so what Silk
costs has a ceiling whatever the traffic. ``SampledSilkMiddleware`` decides that before Silk does any work: a request
it does not record goes straight past Silk, and so do its queries. A request whose body cannot be searched for
secrets (a JSON body nested deeper than ``MAX_JSON_DEPTH``, which Silk's own recursive masking could not take either)
is not recorded at all.
"""

import base64
import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from functools import cache
from typing import Any
from urllib.parse import quote, quote_plus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db.models import Model
from django.db.models.signals import pre_save
from django.db.models.sql.compiler import SQLCompiler
from django.http import HttpRequest, HttpResponseBase

MASK = "********************"
# Shorter values are not secrets worth the name, and masking them would garble every text they appear in.
MIN_SECRET_LENGTH = 4
# Header names that carry credentials, besides those containing one of SILKY_SENSITIVE_KEYS.
SENSITIVE_HEADER = re.compile(r"key|token|auth|secret|passw|session|cookie|signature|credential|csrf", re.IGNORECASE)
# Deeper JSON bodies are not recorded: Silk masks fields recursively, one Python frame a level.
MAX_JSON_DEPTH = 100
REQUEST_FIELDS = ("path", "query_params", "body", "raw_body", "encoded_headers", "pyprofile")


class UnreadableBodyError(Exception):
    """A body that cannot be searched for secrets."""


_secrets: ContextVar[frozenset[str]] = ContextVar("silk_secrets", default=frozenset())
_recording: ContextVar[bool] = ContextVar("silk_recording", default=False)


class MinuteBudget:
    """At most ``settings.SILK_MAX_PER_MINUTE`` recordings per clock minute in this process (None: no limit).

    Sampling alone makes Silk's cost grow with the traffic: each recording writes its request, response and
    queries to the database. The budget caps that write load per worker whatever the traffic.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._minute = -1
        self._spent = 0

    def take(self) -> bool:
        """Return whether one more recording fits in this minute's budget, counting it if it does."""
        limit: int | None = getattr(settings, "SILK_MAX_PER_MINUTE", None)
        if limit is None:
            return True
        minute = int(time.monotonic() // 60)
        with self._lock:
            if minute != self._minute:
                self._minute, self._spent = minute, 0
            if self._spent >= limit:
                return False
            self._spent += 1
            return True


budget = MinuteBudget()


def intercept(request: HttpRequest) -> bool:
    """Return whether Silk should record this request; if it should, note the secrets to keep out of the record."""
    # Sampling, not security: random is the right tool here.
    sampled = request.path.startswith("/api/") and random.random() < getattr(settings, "SILK_SAMPLE_RATE", 0.0)  # noqa: S311
    record = sampled and budget.take()
    secrets: frozenset[str] = frozenset()
    if record:
        try:
            secrets = request_secrets(request)
        except UnreadableBodyError:
            record = False
    _secrets.set(secrets)
    if record:
        _connect_masking()
    return record


def is_recording(request: HttpRequest) -> bool:
    """Return whether ``SampledSilkMiddleware`` chose to record this request (Silk's ``SILKY_INTERCEPT_FUNC``)."""
    return _recording.get()


class SampledSilkMiddleware:
    """Silk's middleware, entered only by the requests Silk records; the others go straight to the next middleware.

    On every request Silk's own middleware resets its collector and asks whether to record; and once it has recorded
    one, it compiles the SQL of every later query, recorded or not, to decide whether to keep it. Here the sample and
    the budget are decided first (``intercept``), the collector is reset after a recording rather than before every
    request, and Silk's query recorder runs only inside a recorded request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        # Imported here: Silk's middleware loads its models, which the settings naming this module come before.
        from silk.middleware import SilkyMiddleware

        self.get_response = get_response
        self.silk = SilkyMiddleware(get_response)
        _record_queries_only_when_recording()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        """Return the response, through Silk's middleware when this request is recorded."""
        if not intercept(request):
            return self.get_response(request)
        from silk.collector import DataCollector

        token = _recording.set(True)
        try:
            response: HttpResponseBase = self.silk(request)
            return response
        finally:
            _recording.reset(token)
            DataCollector().clear()


@cache
def _record_queries_only_when_recording() -> None:
    """Send queries through Silk's recorder inside a recorded request only; installed once per process."""
    from silk.sql import execute_sql as record_query

    original = SQLCompiler.execute_sql

    def execute_sql(self: SQLCompiler, *args: Any, **kwargs: Any) -> Any:
        """Return the query's result, recorded by Silk when the request is."""
        if _recording.get():
            return record_query(self, *args, **kwargs)
        return original(self, *args, **kwargs)

    # Silk installs its recorder on the compiler itself unless it finds ``_execute_sql``, the original it then calls.
    # setattr: a patch of a class mypy would refuse as a method assignment.
    setattr(SQLCompiler, "_execute_sql", original)  # noqa: B010
    setattr(SQLCompiler, "execute_sql", execute_sql)  # noqa: B010


class CurrentSecrets:
    """The secrets of the request being recorded, as ``SILKY_IGNORE_QUERIES``: a query holding one is skipped."""

    def __iter__(self) -> Iterator[str]:
        """Return an iterator over the current request's secret values."""
        return iter(_secrets.get())


def request_secrets(request: HttpRequest) -> frozenset[str]:
    """Return the values in a request that must never be stored: credentials, cookies, sensitive headers and fields.

    Raise UnreadableBodyError for a body that cannot be searched.
    """
    sensitive = _sensitive_name()
    authorization = request.headers.get("Authorization", "")
    values = {authorization, *authorization.split()[1:], *request.COOKIES.values()}
    values.update(value for name, value in request.headers.items() if is_sensitive_header(name))
    values.update(value for name, items in request.GET.lists() if sensitive.search(name) for value in items)
    values.update(_body_secrets(request))
    return frozenset(value for value in values if len(value) >= MIN_SECRET_LENGTH)


def is_sensitive_header(name: str) -> bool:
    """Return whether a header's name says it may carry a credential."""
    return bool(SENSITIVE_HEADER.search(name) or _sensitive_name().search(name))


def _body_secrets(request: HttpRequest) -> set[str]:
    """Return the values of sensitive fields in a JSON or form body; raise UnreadableBodyError for a body too deep."""
    sensitive = _sensitive_name()
    content_type = request.content_type or ""
    try:
        if content_type == "application/json" or content_type.endswith("+json"):
            return set(_sensitive_values(_parse_json(request.body or b"null"), sensitive))
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            return {value for name, items in request.POST.lists() if sensitive.search(name) for value in items}
    except (ValueError, RequestDataTooBig):
        pass  # Silk records no body it cannot read either
    return set()


def _parse_json(text: str | bytes) -> Any:
    """Return parsed JSON; raise ValueError if invalid, UnreadableBodyError if nested beyond MAX_JSON_DEPTH."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise UnreadableBodyError("JSON nested too deep to parse") from None
    # Imported here, not at the top: settings/tools/silk.py imports this module while the settings load, and the
    # parsers import DRF, whose api_settings would read REST_FRAMEWORK then, before a settings module that imports
    # production's (settings.bench) has defined it, and keep DRF's defaults for good.
    from core.plumbing.parsers import nesting_exceeds

    if nesting_exceeds(data, MAX_JSON_DEPTH):
        raise UnreadableBodyError(f"JSON nested deeper than {MAX_JSON_DEPTH}")
    return data


def _sensitive_values(data: Any, sensitive: re.Pattern[str]) -> Iterator[str]:
    """Yield the values under sensitive keys anywhere in parsed JSON, walking it without recursion."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if sensitive.search(str(key)) and not isinstance(value, dict | list):
                    yield str(value)
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)


@cache
def _sensitive_name() -> re.Pattern[str]:
    """Return the pattern of sensitive field names: any name containing one of ``SILKY_SENSITIVE_KEYS``."""
    keys = sorted(getattr(settings, "SILKY_SENSITIVE_KEYS", ()))
    # With no keys, a pattern that matches nothing (an empty one would match every name).
    return re.compile("|".join(re.escape(key) for key in keys) or "(?!)", re.IGNORECASE)


def mask(text: str, secrets: frozenset[str]) -> str:
    """Return the text with every secret masked, as written plainly, JSON-escaped or URL-encoded."""
    for secret in secrets:
        for form in {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, MASK)
    return text


def _mask_json_fields(text: str) -> str:
    """Return JSON text with the values of its sensitive fields masked; other text unchanged."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return text
    secrets = frozenset(_sensitive_values(data, _sensitive_name()))
    return mask(text, frozenset(secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH))


def _mask_request(sender: type[Model], instance: Any, **kwargs: Any) -> None:
    """Mask the current request's secrets in every text of a Silk request record before it is saved."""
    secrets = _secrets.get()
    instance.query_params = _mask_json_fields(instance.query_params or "")
    instance.encoded_headers = _mask_headers(instance.encoded_headers)
    for field in REQUEST_FIELDS:
        value = getattr(instance, field)
        if isinstance(value, str):
            setattr(instance, field, mask(value, secrets))


def _mask_response(sender: type[Model], instance: Any, **kwargs: Any) -> None:
    """Mask secrets, cookies being set and sensitive JSON fields in a Silk response record before it is saved."""
    secrets = _secrets.get()
    instance.encoded_headers = mask(_mask_headers(instance.encoded_headers), secrets)
    instance.body = mask(_mask_json_fields(instance.body or ""), secrets)
    if instance.raw_body:
        try:
            raw = base64.b64decode(instance.raw_body).decode()
        except UnicodeDecodeError:
            return  # a binary or compressed body: no text to mask
        masked = mask(_mask_json_fields(raw), secrets)
        instance.raw_body = base64.b64encode(masked.encode()).decode("ascii")


def _mask_headers(encoded: str | None) -> str:
    """Return Silk's JSON object of headers with the value of every sensitive-looking header masked."""
    headers = json.loads(encoded or "{}")
    return json.dumps({name: MASK if is_sensitive_header(name) else value for name, value in headers.items()})


@cache
def _connect_masking() -> None:
    """Mask Silk's request and response records before they are saved; connected once, on the first recording."""
    # Imported here: Silk's models load after the settings that name this module.
    from silk.models import Request, Response

    pre_save.connect(_mask_request, sender=Request, dispatch_uid="core.observability.silk.mask_request")
    pre_save.connect(_mask_response, sender=Response, dispatch_uid="core.observability.silk.mask_response")
