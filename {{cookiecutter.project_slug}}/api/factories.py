"""factory-boy factories for the example domain, used by the tests and by the demo data."""

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from api.models import Article, Author, Comment, Tag


class AuthorFactory(DjangoModelFactory[Author]):
    """An author with a unique email."""

    class Meta:
        model = Author

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"author{n}@example.com")
    bio = factory.Faker("paragraph", nb_sentences=3)


class TagFactory(DjangoModelFactory[Tag]):
    """A tag with a unique name and slug."""

    class Meta:
        model = Tag

    name = factory.Sequence(lambda n: f"tag {n}")
    slug = factory.Sequence(lambda n: f"tag-{n}")


class ArticleFactory(DjangoModelFactory[Article]):
    """A published article by a new author."""

    class Meta:
        model = Article
        skip_postgeneration_save = True

    title = factory.Faker("sentence", nb_words=6)
    slug = factory.Sequence(lambda n: f"article-{n}")
    body = factory.Faker("text", max_nb_chars=2000)
    status = Article.Status.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)
    author = factory.SubFactory(AuthorFactory)

    @factory.post_generation  # type: ignore[untyped-decorator]
    def tags(self, create: bool, extracted: list[Tag] | None, **kwargs: object) -> None:
        """Attach the tags passed as ``tags=[...]``."""
        if create and extracted:
            self.tags.add(*extracted)


class CommentFactory(DjangoModelFactory[Comment]):
    """A comment on a new article."""

    class Meta:
        model = Comment

    article = factory.SubFactory(ArticleFactory)
    author_name = factory.Faker("first_name")
    body = factory.Faker("sentence", nb_words=12)
