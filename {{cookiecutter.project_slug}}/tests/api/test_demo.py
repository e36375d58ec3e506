"""seed_demo loads the demo data once, tops it up, and starts over with --reset."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from api.models import Article, Author, Comment, Tag

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_the_requested_articles_with_tags_and_comments() -> None:
    call_command("seed_demo", articles=30)

    assert Article.objects.count() == 30
    assert Author.objects.count() == 5
    assert Tag.objects.count() == 12
    assert Article.tags.through.objects.count() >= 30
    assert Comment.objects.exists()


def test_seed_demo_run_twice_creates_nothing_more() -> None:
    call_command("seed_demo", articles=30)
    first = list(Article.objects.order_by("slug").values_list("slug", "title"))

    call_command("seed_demo", articles=30)

    assert list(Article.objects.order_by("slug").values_list("slug", "title")) == first


def test_seed_demo_tops_up_to_a_larger_count() -> None:
    call_command("seed_demo", articles=10)

    call_command("seed_demo", articles=25)

    assert Article.objects.count() == 25


def test_seed_demo_reset_starts_over() -> None:
    call_command("seed_demo", articles=10)
    Article.objects.filter(slug="demo-0").update(title="edited")

    call_command("seed_demo", articles=10, reset=True)

    assert Article.objects.count() == 10
    assert not Article.objects.filter(title="edited").exists()


def test_seed_demo_refuses_a_negative_count() -> None:
    with pytest.raises(CommandError, match="0 or more"):
        call_command("seed_demo", articles=-1)


def test_seed_demo_leaves_the_planner_statistics_of_the_tables_it_filled() -> None:
    call_command("seed_demo", articles=30)

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # ANALYZE writes pg_class outside the transaction, so a past run's figures stay: ask when, not what.
            cursor.execute(
                "SELECT last_analyze >= transaction_timestamp() FROM pg_stat_user_tables WHERE relname = %s",
                ["api_article"],
            )
        else:
            cursor.execute("SELECT CAST(stat AS INTEGER) = 30 FROM sqlite_stat1 WHERE tbl = %s", ["api_article"])
        analyzed = cursor.fetchone()

    assert analyzed is not None
    assert analyzed[0]
