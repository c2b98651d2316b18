"""Factories for the education library's models."""

import datetime

import factory
from django.utils import timezone

from education.models import Article, FAQEntry, Topic


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Topic {n}")
    slug = factory.Sequence(lambda n: f"topic-{n}")


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Article
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Article number {n}")
    slug = factory.Sequence(lambda n: f"article-{n}")
    summary = "A short summary for lists and search engines."
    body = "## First section\n\nSome careful words about treatment.\n\n### A detail\n\nMore words."
    status = Article.Status.PUBLISHED
    published_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=1))
    reviewer_name = "Clinical team"
    last_reviewed = datetime.date(2026, 1, 15)
    next_review_due = datetime.date(2027, 1, 15)

    class Params:
        draft = factory.Trait(status=Article.Status.DRAFT, published_at=None)
        scheduled = factory.Trait(
            published_at=factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=7))
        )

    @factory.post_generation
    def topics(self, create, extracted, **kwargs):
        if create and extracted:
            self.topics.set(extracted)


class FAQEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FAQEntry

    article = factory.SubFactory(ArticleFactory)
    question = factory.Sequence(lambda n: f"Question number {n}?")
    answer = "An answer that helps."
    position = factory.Sequence(lambda n: n)
