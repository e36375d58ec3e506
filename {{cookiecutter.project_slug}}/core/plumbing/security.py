"""Content-Security-Policy and Permissions-Policy on every response.

One small middleware rather than Django 6's CSP support, so the same settings work on Django 5.2 too. The policy is
``CONTENT_SECURITY_POLICY`` (directive -> sources), plus ``CONTENT_SECURITY_POLICY_PATHS`` for the pages under a
path prefix that need more (a developer tool's), plus the sources of ``DJANGO_CSP_EXTRA``. A response that already
carries a policy keeps it.
"""

from collections.abc import Callable, Mapping, Sequence

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Policy = Mapping[str, Sequence[str]]


def parse_policy(text: str) -> dict[str, list[str]]:
    """Return a policy written as a header value ("img-src 'self' data:; connect-src 'self'") as a mapping."""
    directives = (part.split() for part in text.split(";"))
    return {words[0].lower(): words[1:] for words in directives if words}


def merge_policies(*policies: Policy) -> dict[str, list[str]]:
    """Return the policies' directives with the sources of each joined, in order and without repeats."""
    merged: dict[str, list[str]] = {}
    for policy in policies:
        for directive, sources in policy.items():
            merged.setdefault(directive, [])
            merged[directive] += [source for source in sources if source not in merged[directive]]
    return merged


def csp_header(policy: Policy) -> str:
    """Return a Content-Security-Policy header value."""
    return "; ".join(" ".join([directive, *sources]) for directive, sources in policy.items())


def permissions_header(policy: Policy) -> str:
    """Return a Permissions-Policy header value: each feature with its allowlist, () for none."""
    return ", ".join(f"{feature}=({' '.join(origins)})" for feature, origins in policy.items())


class SecurityHeadersMiddleware:
    """Add Content-Security-Policy (or its report-only form) and Permissions-Policy to every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        base = merge_policies(settings.CONTENT_SECURITY_POLICY, parse_policy(settings.CONTENT_SECURITY_POLICY_EXTRA))
        self.csp = csp_header(base)
        # Longest prefix first, so the most specific one applies.
        self.csp_by_prefix = [
            (prefix, csp_header(merge_policies(base, extra)))
            for prefix, extra in sorted(settings.CONTENT_SECURITY_POLICY_PATHS.items(), key=lambda item: -len(item[0]))
        ]
        self.csp_name = (
            "Content-Security-Policy-Report-Only"
            if settings.CONTENT_SECURITY_POLICY_REPORT_ONLY
            else "Content-Security-Policy"
        )
        self.permissions = permissions_header(settings.PERMISSIONS_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Return the response with both headers, unless it set its own."""
        response = self.get_response(request)
        response.headers.setdefault(self.csp_name, self.policy_for(request.path))
        response.headers.setdefault("Permissions-Policy", self.permissions)
        return response

    def policy_for(self, path: str) -> str:
        """Return the Content-Security-Policy of a path."""
        return next((csp for prefix, csp in self.csp_by_prefix if path.startswith(prefix)), self.csp)
