"""The fault suite's view of the database: seeds it and checks the acknowledged writes, through the ORM.

It runs in a process of its own with the served project's settings and database (the suite's process has the test
settings), as ``python -m tests.chaos.ledger seed`` or ``python -m tests.chaos.ledger check < writes.json``; each
prints JSON.
"""

import json
import os
import sys
from typing import Any

import django

READER_ARTICLES = 20


def seed() -> dict[str, Any]:
    """Return the tokens of the writer and the prober, the probe article and the articles readers start from."""
    from django.contrib.auth.models import User
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from api.factories import ArticleFactory, CommentFactory
    from api.models import Article, Author

    accounts = {}
    for name in ("writer", "prober"):
        user = User.objects.create_user(username=f"chaos-{name}")
        author = Author.objects.create(user=user, name=f"Chaos {name}", email=f"chaos-{name}@example.com")
        accounts[name] = (Token.objects.create(user=user).key, author)
    prober = accounts["prober"][1]
    probe = Article.objects.create(
        title="probe", slug="chaos-probe", body="The stale-window probe.", author=prober,
        status=Article.Status.PUBLISHED, published_at=timezone.now(),
    )  # fmt: skip
    articles = ArticleFactory.create_batch(READER_ARTICLES, author=accounts["writer"][1])
    CommentFactory.create_batch(READER_ARTICLES, article=articles[0])
    return {
        "writer_token": accounts["writer"][0],
        "prober_token": accounts["prober"][0],
        "prober_author": prober.pk,
        "probe": probe.pk,
        "articles": [article.pk for article in articles],
    }


def check(writes: dict[str, Any]) -> dict[str, Any]:
    """Return the acknowledged writes the database does not hold.

    ``writes`` has ``titles``: for each article id, the titles it may have (the last acknowledged one and any sent
    after it without an answer), and ``comments``: the ids of the acknowledged comments.
    """
    from api.models import Article, Comment

    titles: dict[str, list[str]] = writes["titles"]
    stored = dict(Article.objects.filter(pk__in=[int(pk) for pk in titles]).values_list("pk", "title"))
    missing = [
        f"article {pk}: {stored.get(int(pk), 'no row')!r} is none of {allowed!r}"
        for pk, allowed in titles.items()
        if stored.get(int(pk)) not in allowed
    ]
    comments = set(Comment.objects.filter(pk__in=writes["comments"]).values_list("pk", flat=True))
    missing += [f"comment {pk}: no row" for pk in writes["comments"] if pk not in comments]
    return {"missing": missing}


def main() -> None:
    """Run the command named on the command line and print its JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.production")
    django.setup()
    command = sys.argv[1]
    result = seed() if command == "seed" else check(json.load(sys.stdin))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
