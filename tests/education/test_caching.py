"""The public library and article pages come from the shared cache, and never show stale content."""

import datetime
import gzip
import hashlib
import threading
import time

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic import http_cache
from education import views
from education.models import Article
from education.services import article_publish, article_unpublish
from tests.factories import ArticleFactory, FAQEntryFactory, TopicFactory

pytestmark = pytest.mark.django_db

LIBRARY = "/learn/"
ARTICLE = "/learn/ketamine-and-mood/"


@pytest.fixture
def topic(db):
    return TopicFactory(name="Bipolar disorder", slug="bipolar-disorder")


@pytest.fixture
def article(topic):
    article = ArticleFactory(
        slug="ketamine-and-mood",
        title="Ketamine and mood",
        body="## What it is\n\nThe first words of the article.",
        topics=[topic],
    )
    FAQEntryFactory(article=article, question="Is it an infusion?", answer="Usually, yes.", position=1)
    return article


def get(client, url):
    """(response, number of queries it ran)."""
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    return response, len(context.captured_queries)


def admin_change_data(staff_client, article, **changes):
    """The article's admin change form as the browser would send it back, with ``changes``."""
    form = staff_client.get(f"/admin/education/article/{article.pk}/change/").context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    published_at = article.published_at.astimezone(timezone.get_current_timezone())
    faqs = list(article.faqs.all())
    data.update(
        {
            "topics": [topic.pk for topic in article.topics.all()],
            "published_at_0": published_at.strftime("%Y-%m-%d"),
            "published_at_1": published_at.strftime("%H:%M:%S"),
            "last_reviewed": article.last_reviewed.isoformat(),
            "next_review_due": article.next_review_due.isoformat(),
            "hero_image": "",
            "faq_image": "",
            "faqs-TOTAL_FORMS": str(len(faqs)),
            "faqs-INITIAL_FORMS": str(len(faqs)),
            "faqs-MIN_NUM_FORMS": "0",
            "faqs-MAX_NUM_FORMS": "1000",
        }
    )
    for i, faq in enumerate(faqs):
        data.update(
            {
                f"faqs-{i}-id": faq.pk,
                f"faqs-{i}-article": article.pk,
                f"faqs-{i}-position": faq.position,
                f"faqs-{i}-question": faq.question,
                f"faqs-{i}-answer": faq.answer,
            }
        )
    data.update(changes)
    return data


@pytest.mark.parametrize("url", [ARTICLE, LIBRARY])
def test_a_second_visit_comes_from_the_cache_without_a_query(client, article, url):
    first, first_queries = get(client, url)
    second, second_queries = get(client, url)
    assert first.status_code == second.status_code == 200
    assert first_queries > 0
    assert second_queries == 0
    assert second.content == first.content
    assert second["Content-Type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize("url", [ARTICLE, LIBRARY, "/"])
def test_a_cached_page_validates_compressed_or_not(client, article, url):
    built = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    hits = [client.get(url, HTTP_ACCEPT_ENCODING="gzip") for _ in range(3)]
    plain = client.get(url)
    for hit in hits:
        assert hit["Content-Encoding"] == "gzip"
        assert hit["Vary"] == "Accept-Encoding"
        assert gzip.decompress(hit.content) == gzip.decompress(built.content) == plain.content
        # Weak once compressed, as Django's GZip makes it: the same page validates either way.
        assert hit["ETag"] == built["ETag"] == "W/" + plain["ETag"]
        assert hit["Last-Modified"] == plain["Last-Modified"]
    assert "Content-Encoding" not in plain
    assert plain["ETag"] == f'"{hashlib.md5(plain.content, usedforsecurity=False).hexdigest()}"'
    assert client.get(url, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=plain["ETag"]).status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH=hits[0]["ETag"]).status_code == 304


@pytest.mark.parametrize("url", [ARTICLE, LIBRARY])
def test_a_cached_page_keeps_the_security_headers(client, article, url):
    client.get(url)
    response = client.get(url)
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"


def test_searches_are_never_cached(client, article):
    get(client, "/learn/?q=ketamine")
    response, queries = get(client, "/learn/?q=ketamine")
    assert queries > 0
    assert "1 article matches" in response.content.decode()


def test_an_unknown_address_is_never_cached(client, article):
    assert client.get("/learn/not-yet-written/").status_code == 404
    ArticleFactory(slug="not-yet-written", title="Written at last")
    assert "Written at last" in client.get("/learn/not-yet-written/").content.decode()


def test_an_edit_saved_through_the_model_shows_on_the_next_visit(client, article):
    client.get(ARTICLE)
    client.get(LIBRARY)
    article.title = "Ketamine and your mood"
    article.body = article.body.replace("first words", "opening words")
    article.save()
    html = client.get(ARTICLE).content.decode()
    assert "Ketamine and your mood" in html
    assert "The opening words of the article." in html
    assert "Ketamine and your mood" in client.get(LIBRARY).content.decode()


def test_a_typo_fixed_in_the_admin_shows_on_the_next_visit(staff_client, article):
    public = Client()
    assert "first words" in public.get(ARTICLE).content.decode()
    public.get(LIBRARY)
    data = admin_change_data(
        staff_client,
        article,
        title="Ketamine and your mood",
        body=article.body.replace("first words", "opening words"),
        **{"faqs-0-answer": "Usually, yes: through a small needle in the arm."},
    )
    response = staff_client.post(f"/admin/education/article/{article.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    html = public.get(ARTICLE).content.decode()
    assert "The opening words of the article." in html
    assert "first words" not in html
    assert "through a small needle in the arm" in html
    assert "Ketamine and your mood" in public.get(LIBRARY).content.decode()


def test_topics_changed_in_the_admin_show_on_the_next_visit(staff_client, article):
    public = Client()
    public.get(ARTICLE)
    public.get(LIBRARY)
    depression = TopicFactory(name="Depression", slug="depression")
    data = admin_change_data(staff_client, article, topics=[depression.pk])
    assert staff_client.post(f"/admin/education/article/{article.pk}/change/", data).status_code == 302
    assert '<a class="topic-tag" href="/learn/#topic-depression">Depression</a>' in (
        public.get(ARTICLE).content.decode()
    )
    library = public.get(LIBRARY).content.decode()
    assert 'id="topic-depression"' in library
    assert 'id="topic-bipolar-disorder"' not in library


def test_a_topic_renamed_shows_on_the_next_visit(client, article, topic):
    client.get(ARTICLE)
    client.get(LIBRARY)
    topic.name = "Bipolar depression"
    topic.save()
    assert "Bipolar depression" in client.get(ARTICLE).content.decode()
    assert "Bipolar depression" in client.get(LIBRARY).content.decode()


def test_a_question_added_or_removed_shows_on_the_next_visit(client, article):
    client.get(ARTICLE)
    added = FAQEntryFactory(article=article, question="How long does a session last?", position=2)
    assert "How long does a session last?" in client.get(ARTICLE).content.decode()
    added.delete()
    assert "How long does a session last?" not in client.get(ARTICLE).content.decode()


def test_unpublishing_takes_the_article_off_at_once(client, article):
    assert client.get(ARTICLE).status_code == 200
    assert "Ketamine and mood" in client.get(LIBRARY).content.decode()
    article_unpublish(article=article)
    assert client.get(ARTICLE).status_code == 404
    assert "Ketamine and mood" not in client.get(LIBRARY).content.decode()


def test_publishing_a_draft_shows_it_at_once(client, article):
    draft = ArticleFactory(slug="new-findings", title="New findings", draft=True)
    client.get(LIBRARY)
    assert client.get("/learn/new-findings/").status_code == 404
    article_publish(article=draft)
    assert "New findings" in client.get(LIBRARY).content.decode()
    assert client.get("/learn/new-findings/").status_code == 200


def test_articles_deleted_in_bulk_from_the_admin_leave_the_pages(staff_client, article):
    public = Client()
    public.get(ARTICLE)
    assert "Ketamine and mood" in public.get(LIBRARY).content.decode()
    response = staff_client.post(
        "/admin/education/article/",
        {"action": "delete_selected", "_selected_action": [article.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Article.objects.exists()
    assert public.get(ARTICLE).status_code == 404
    assert "Ketamine and mood" not in public.get(LIBRARY).content.decode()


def test_an_article_deleted_leaves_the_pages(client, article):
    client.get(ARTICLE)
    assert "Ketamine and mood" in client.get(LIBRARY).content.decode()
    article.delete()
    assert client.get(ARTICLE).status_code == 404
    assert "Ketamine and mood" not in client.get(LIBRARY).content.decode()


def test_topics_deleted_in_bulk_from_the_admin_leave_the_pages(staff_client, article, topic):
    public = Client()
    assert "Bipolar disorder" in public.get(LIBRARY).content.decode()
    response = staff_client.post(
        "/admin/education/topic/",
        {"action": "delete_selected", "_selected_action": [topic.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert "Bipolar disorder" not in public.get(LIBRARY).content.decode()


def test_a_draft_previewed_by_staff_is_never_cached(staff_client):
    ArticleFactory(slug="work-in-progress", title="Work in progress", body="Unchecked words.", draft=True)
    for _ in range(2):
        response, queries = get(staff_client, "/learn/work-in-progress/preview/")
        assert response.status_code == 200
        assert "This article is a draft" in response.content.decode()
        assert "no-store" in response["Cache-Control"]
        assert queries >= 4
    assert Client().get("/learn/work-in-progress/").status_code == 404
    assert Client().get("/learn/work-in-progress/preview/").status_code == 404


def test_staff_always_see_the_article_as_it_is_now(staff_client, article):
    public = Client()
    public.get(ARTICLE)
    # Changed behind the model's back, as no editor can: the public copy stays cached...
    Article.objects.filter(pk=article.pk).update(title="Changed without a save")
    assert "Changed without a save" not in public.get(ARTICLE).content.decode()
    # ...while staff never get a cached page, and never leave one behind.
    assert "Changed without a save" in staff_client.get(ARTICLE + "preview/").content.decode()
    assert "Changed without a save" not in public.get(ARTICLE).content.decode()


def test_a_page_published_after_a_preview_shows_no_preview_banner(staff_client):
    draft = ArticleFactory(slug="work-in-progress", title="Work in progress", draft=True)
    staff_client.get("/learn/work-in-progress/preview/")
    article_publish(article=draft)
    html = Client().get("/learn/work-in-progress/").content.decode()
    assert "Preview." not in html
    assert "only staff can see this page" not in html


def test_a_scheduled_article_appears_on_the_cached_pages_when_its_time_comes(client, article, topic):
    goes_public = timezone.now() + datetime.timedelta(seconds=1.5)
    ArticleFactory(slug="scheduled", title="Scheduled article", published_at=goes_public, topics=[topic])
    assert "Scheduled article" not in client.get(LIBRARY).content.decode()
    assert "Scheduled article" not in client.get(ARTICLE).content.decode()
    # Nothing is saved when the date comes: the cached copies expire on their own at that moment.
    time.sleep((goes_public - timezone.now()).total_seconds() + 0.1)
    assert "Scheduled article" in client.get(LIBRARY).content.decode()
    assert "Scheduled article" in client.get(ARTICLE).content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_page_built_from_the_rows_before_a_change_commits_is_dropped_when_it_does(article):
    seen_meanwhile = []

    def visit_from_another_connection():
        # Another request, while the change is not yet committed: it reads and caches the old rows.
        try:
            seen_meanwhile.append(Client().get(ARTICLE).content.decode())
        finally:
            connection.close()

    with transaction.atomic():
        article.title = "Ketamine, mood and sleep"
        article.save()
        visitor = threading.Thread(target=visit_from_another_connection)
        visitor.start()
        visitor.join()
    assert "Ketamine and mood" in seen_meanwhile[0]
    assert "Ketamine, mood and sleep" in Client().get(ARTICLE).content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_shared_cache_in_front_is_purged_once_per_committed_transaction(article, monkeypatch):
    purged = []
    monkeypatch.setattr(http_cache, "purge", lambda paths: purged.append(sorted(paths)))
    with transaction.atomic():
        article.save()
        FAQEntryFactory(article=article, question="Another question?", answer="Yes.", position=2)
        TopicFactory(name="Depression", slug="depression")
    assert len(purged) == 1
    assert ARTICLE in purged[0] and LIBRARY in purged[0] and "/" in purged[0]
    with pytest.raises(RuntimeError), transaction.atomic():
        article.save()
        raise RuntimeError
    assert len(purged) == 1
    with transaction.atomic():
        article.save()
    assert len(purged) == 2


def test_a_visitor_with_a_session_a_query_or_a_strange_host_gets_the_right_page(client, article):
    client.get(LIBRARY)
    client.get(ARTICLE)
    searched = client.get(LIBRARY, {"q": "ketamine"})
    assert "private" in searched["Cache-Control"]
    assert 'value="ketamine"' in searched.content.decode()
    assert client.get(ARTICLE, HTTP_HOST="attacker.example").status_code == 400
    client.cookies["sessionid"] = "no-such-session"
    assert "Ketamine and mood" in client.get(ARTICLE).content.decode()


def test_a_page_built_for_an_address_with_a_query_is_never_stored(client, article):
    # The language switch keeps the query; the page at the plain address must not carry it.
    assert "from=elsewhere" in client.get(ARTICLE, {"from": "elsewhere"}).content.decode()
    assert "elsewhere" not in Client().get(ARTICLE).content.decode()
    _response, queries = get(Client(), ARTICLE)
    assert queries == 0


def test_an_edit_made_while_the_cache_was_unreachable_shows_once_the_cached_copy_expires(
    client, article, monkeypatch
):
    from redis.exceptions import ConnectionError as RedisConnectionError

    monkeypatch.setattr(views, "PAGE_CACHE_SECONDS", 1)
    client.get(ARTICLE)
    breaker = cache.breaker
    breaker.failed(RedisConnectionError("refused"))
    breaker.retry_at = time.monotonic() + 60
    # The edit cannot drop the cached page while the cache is skipped; while skipped, the page is built.
    article.title = "Ketamine, mood and sleep"
    article.save()
    assert "Ketamine, mood and sleep" in client.get(ARTICLE).content.decode()
    breaker.retry_at = 0
    time.sleep(1.1)
    assert "Ketamine, mood and sleep" in client.get(ARTICLE).content.decode()
    assert breaker.down_since is None
