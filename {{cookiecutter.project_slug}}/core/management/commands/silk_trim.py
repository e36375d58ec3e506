"""Trim Silk's records to the newest requests: ``manage.py silk_trim --keep 1000``."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from silk.config import SilkyConfig
from silk.models import Request


class Command(BaseCommand):
    """Delete all but the newest recorded requests, with their responses, queries and profiles."""

    help = "Keep only the newest requests Silk recorded (by default, SILKY_MAX_RECORDED_REQUESTS of them)."

    def add_arguments(self, parser: CommandParser) -> None:
        """Add --keep."""
        parser.add_argument("--keep", type=int, default=None, help="How many of the newest requests to keep.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Delete the older requests and say how many are left."""
        keep = SilkyConfig().SILKY_MAX_RECORDED_REQUESTS if options["keep"] is None else options["keep"]
        if keep < 0:
            raise CommandError(f"--keep must be 0 or more, not {keep}.")
        newest = Request.objects.order_by("-start_time", "-id").values("id")[:keep]
        Request.objects.exclude(id__in=newest).delete()
        self.stdout.write(f"Silk keeps {Request.objects.count()} recorded requests (at most {keep}).")
