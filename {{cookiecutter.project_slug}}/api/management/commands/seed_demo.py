"""``manage.py seed_demo``: load the example API's demo data."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from api.demo import demo_data_delete, demo_data_seed

PROGRESS_WIDTH = 30


class Command(BaseCommand):
    """Load demo authors, tags, articles and comments; running it again adds only what is missing."""

    help = "Load demo data for the example API (idempotent; --reset starts over)."

    def add_arguments(self, parser: CommandParser) -> None:
        """Add --articles, --reset and --seed."""
        parser.add_argument("--articles", type=int, default=200, help="How many demo articles to have (default 200).")
        parser.add_argument("--reset", action="store_true", help="Delete the demo data first.")
        parser.add_argument("--seed", type=int, default=42, help="Random seed, for the same data every time.")

    def handle(self, *args: Any, articles: int, reset: bool, seed: int, **options: Any) -> None:
        """Seed the demo data and report what was done."""
        if articles < 0:
            raise CommandError("--articles must be 0 or more.")
        if reset:
            self.stdout.write(f"Deleted {demo_data_delete()} demo articles.")
        created = demo_data_seed(articles=articles, seed=seed, progress=self._progress)
        if created:
            self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo data: {created} articles created, {articles} wanted."))

    def _progress(self, done: int, total: int) -> None:
        """Draw a one-line progress bar."""
        filled = PROGRESS_WIDTH * done // total
        bar = "#" * filled + "." * (PROGRESS_WIDTH - filled)
        self.stdout.write(f"\r[{bar}] {done}/{total}", ending="")
        self.stdout.flush()
