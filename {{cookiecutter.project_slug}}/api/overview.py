"""``GET /api/overview/``: the stats and a slow upstream's answer, fetched at the same time by an async view.

The one view of the API that gains from ASGI (README, "ASGI where it pays"): it waits on two independent sources,
the database and an HTTP upstream, and awaits both at once, so it takes about as long as the slower one instead of
their sum, and on an ASGI server a worker serves other requests meanwhile. Under WSGI it still answers the same
(Django runs it through ``async_to_sync``), but the worker waits for it.

The stats are ``api.selectors.stats``, run in a thread: Django's async ORM would run the three aggregates one after
another in that same thread anyway, so splitting them would add thread hops and no overlap. What overlaps is the
database with the upstream's wait.

Not cached: the upstream's part is live, and its failure (``api.upstream``) must not be kept for a cache's lifetime;
``GET /api/stats/`` is the cached read of the same counts.
"""

import asyncio
from typing import Any

from asgiref.sync import sync_to_async
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from api.selectors import stats
from api.serializers import StatsSerializer
from api.upstream import REASONS, upstream_status
from core.toolkit.async_views import AsyncAPIView

NO_STORE = {"Cache-Control": "no-store"}


class UpstreamSerializer(serializers.Serializer[Any]):
    """The upstream's JSON object, or why there is none."""

    available = serializers.BooleanField()
    reason = serializers.ChoiceField(choices=REASONS, allow_null=True, help_text="Null when available.")
    content = serializers.DictField(allow_null=True, help_text="The upstream's JSON object; null when unavailable.")


class OverviewSerializer(serializers.Serializer[Any]):
    """The stats and the upstream, fetched at the same time."""

    stats = StatsSerializer()
    upstream = UpstreamSerializer()


async def overview() -> dict[str, Any]:
    """Return the stats and the upstream's answer, both fetched at once."""
    counts, upstream = await asyncio.gather(sync_to_async(stats)(), upstream_status())
    return {"stats": counts, "upstream": upstream}


class OverviewView(AsyncAPIView):
    """The stats and the upstream's status in one answer; the upstream may be unavailable, the answer is still 200."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: OverviewSerializer})
    async def get(self, request: Request) -> Response:
        """Return the stats and the upstream's answer, or why it is unavailable (then ``available`` is false)."""
        return Response(await overview(), headers=NO_STORE)
