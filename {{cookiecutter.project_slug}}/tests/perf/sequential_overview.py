"""The overview written sync: the same answer as ``GET /api/overview/``, its two sources fetched one after the other.

The benchmark's twin of ``api.overview`` (``make bench-fanout``), mounted at /bench/overview-sync/ by the benchmark's
URLconf only: it shows what the async view's fan-out saves, and what each server does with either view.
"""

from typing import Any

from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.overview import NO_STORE
from api.selectors import stats
from api.upstream import upstream_status_sync


def sequential_overview() -> dict[str, Any]:
    """Return what ``api.overview.overview`` returns, the stats first, then the upstream."""
    return {"stats": stats(), "upstream": upstream_status_sync()}


class SequentialOverviewView(APIView):
    """The overview, sync and sequential."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        """Return the stats and then the upstream's answer."""
        return Response(sequential_overview(), headers=NO_STORE)
