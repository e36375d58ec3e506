"""Land the cache invalidations the cache refused during an outage, as /health/ and each process do on their own."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.toolkit.caching import land_pending_bumps, pending_bumps


class Command(BaseCommand):
    """Retry the pending version bumps; fail while some remain."""

    help = "Retry the pending cache invalidations; exit 1 while the cache still refuses some."

    def handle(self, *args: Any, **options: Any) -> None:
        """Land what the cache takes, then report what is left."""
        land_pending_bumps()
        pending, oldest_seconds = pending_bumps()
        if pending:
            raise CommandError(f"{pending} cache invalidations still pending, the oldest for {oldest_seconds:.0f} s.")
        self.stdout.write("No cache invalidation pending.")
