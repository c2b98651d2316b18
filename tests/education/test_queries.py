"""Pages run a fixed number of queries, however many articles, topics and questions there are."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from education.models import FACTS_CACHE_KEY
from tests.factories import ArticleFactory, FAQEntryFactory, TopicFactory

pytestmark = pytest.mark.django_db

# The page's own queries, and one for the clinic's facts when the shared cache does not hold them.
MAX_QUERIES = 5
# Synonyms, articles, their topics and questions, the clinic's facts, and the matching sections.
SEARCH_QUERIES = 6
# Also: any word instead of every word (articles, sections), the known words for "did you mean"
# (the public articles, their words), and the count of searches that found nothing.
FRUITLESS_SEARCH_QUERIES = 11
PAGES = {
    "/learn/": MAX_QUERIES,
    "/learn/?q=ketamine+infusion": SEARCH_QUERIES,
    "/learn/?q=nothing+matches": FRUITLESS_SEARCH_QUERIES,
    "/learn/article-0/": MAX_QUERIES,
    "/": MAX_QUERIES,
    "/learn/feed/": MAX_QUERIES,
    "/sitemap.xml": MAX_QUERIES,
}


@pytest.fixture
def topics(db):
    return [TopicFactory(name=name, slug=name.lower()) for name in ("Anxiety", "Bipolar", "Depression")]


def add_articles(topics, count, *, start=0):
    """Articles with two topics and five questions each, numbered from ``start``."""
    for n in range(start, start + count):
        article = ArticleFactory(
            slug=f"article-{n}",
            title=f"Ketamine article {n}",
            body=f"## Section {n}\n\nKetamine infusion text.\n\n### Detail\n\nMore.",
            topics=[topics[n % 3], topics[(n + 1) % 3]],
        )
        for position in range(5):
            FAQEntryFactory(article=article, position=position)


def count_queries(client, url):
    cache.delete(FACTS_CACHE_KEY)
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize(("url", "budget"), PAGES.items())
def test_query_count_is_the_same_for_1_and_50_articles(client, topics, url, budget):
    add_articles(topics, 1)
    with_one = count_queries(client, url)
    add_articles(topics, 49, start=1)
    with_fifty = count_queries(client, url)
    assert with_one == with_fifty <= budget


@pytest.mark.parametrize("count", [1, 50])
def test_library_runs_at_most_five_queries(client, topics, django_assert_max_num_queries, count):
    add_articles(topics, count)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get("/learn/")
    # Each article shows under both of its topics.
    assert response.content.decode().count('class="article-card"') == count * 2


@pytest.mark.parametrize("count", [1, 50])
def test_search_runs_at_most_six_queries(client, topics, django_assert_max_num_queries, count):
    add_articles(topics, count)
    with django_assert_max_num_queries(SEARCH_QUERIES):
        response = client.get("/learn/", {"q": "ketamine infusion"})
    assert response.content.decode().count('class="article-card"') == min(count, 20)


@pytest.mark.parametrize("count", [1, 50])
def test_article_runs_exactly_five_queries(client, topics, django_assert_num_queries, count):
    """The article, its topics, its questions, its related articles and the clinic's facts."""
    add_articles(topics, count)
    with django_assert_num_queries(5):
        response = client.get("/learn/article-0/")
    assert response.content.decode().count('<details class="faq__item">') == 5
