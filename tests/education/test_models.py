"""Articles: what "public" means, what is derived on save, what the database refuses."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from education.models import HIGHLIGHT_START, HIGHLIGHT_STOP, Article, clean_search_terms
from education.services import article_publish, article_unpublish
from tests.factories import ArticleFactory, FAQEntryFactory, TopicFactory

pytestmark = pytest.mark.django_db


def test_published_is_published_status_with_a_date_that_has_come():
    public = ArticleFactory()
    ArticleFactory(draft=True)
    ArticleFactory(scheduled=True)
    ArticleFactory(status=Article.Status.DRAFT, published_at=timezone.now() - datetime.timedelta(days=3))
    assert list(Article.objects.published()) == [public]


def test_a_scheduled_article_becomes_public_when_its_date_comes():
    article = ArticleFactory(published_at=timezone.now() + datetime.timedelta(seconds=1))
    assert not Article.objects.published().exists()
    Article.objects.filter(pk=article.pk).update(published_at=timezone.now() - datetime.timedelta(seconds=1))
    assert list(Article.objects.published()) == [article]


def test_latest_first_orders_by_publish_date():
    old = ArticleFactory(published_at=timezone.now() - datetime.timedelta(days=30))
    new = ArticleFactory(published_at=timezone.now() - datetime.timedelta(days=1))
    draft = ArticleFactory(draft=True)
    assert list(Article.objects.latest_first()) == [new, old, draft]


def test_database_refuses_a_published_article_without_a_date():
    with pytest.raises(IntegrityError), transaction.atomic():
        ArticleFactory(published_at=None)


def test_database_refuses_an_image_without_alt_text():
    with pytest.raises(IntegrityError), transaction.atomic():
        ArticleFactory(hero_image="education/articles/photo.jpg", hero_image_alt="")


def test_clean_asks_for_alt_text_when_an_image_is_set():
    article = ArticleFactory.build(hero_image="education/articles/photo.jpg", hero_image_alt=" ")
    with pytest.raises(ValidationError) as error:
        article.full_clean()
    assert "hero_image_alt" in error.value.message_dict


def test_clean_refuses_a_review_due_before_the_last_review():
    article = ArticleFactory.build(
        last_reviewed=datetime.date(2026, 5, 1), next_review_due=datetime.date(2026, 4, 1)
    )
    with pytest.raises(ValidationError) as error:
        article.full_clean()
    assert "next_review_due" in error.value.message_dict


def test_clean_refuses_a_slug_the_library_uses():
    article = ArticleFactory.build(slug="feed")
    with pytest.raises(ValidationError) as error:
        article.full_clean()
    assert "slug" in error.value.message_dict


def test_clean_dates_a_published_article_that_has_no_date():
    article = ArticleFactory.build(published_at=None)
    article.full_clean()
    assert article.published_at is not None


def test_markdown_is_rendered_on_save_with_heading_anchors_and_contents():
    article = ArticleFactory(body="Intro.\n\n## Side effects & risks\n\nText.\n\n### Blood pressure\n\nMore.")
    assert '<h2 id="side-effects-risks">Side effects &amp; risks</h2>' in article.body_html
    assert '<h3 id="blood-pressure">Blood pressure</h3>' in article.body_html
    assert article.toc == [
        {
            "id": "side-effects-risks",
            "name": "Side effects & risks",
            "part": "body",
            "children": [{"id": "blood-pressure", "name": "Blood pressure", "children": []}],
        }
    ]
    article.body = "## Another heading"
    article.save()
    article.refresh_from_db()
    assert article.body_html == '<h2 id="another-heading">Another heading</h2>'


def test_body_h1_becomes_h2_so_the_title_stays_the_only_h1():
    article = ArticleFactory(body="# A heading")
    assert article.body_html == '<h2 id="a-heading">A heading</h2>'


def test_heading_ids_never_take_the_pages_own_ids_or_repeat():
    article = ArticleFactory(body="## FAQ\n\n## Main\n\n## Related title", conclusion="## Main")
    ids = [entry["id"] for entry in article.toc]
    assert ids == ["faq_1", "main_1", "related-title_1", "main_2"]


def test_contents_put_the_faq_between_body_and_closing_words():
    article = ArticleFactory(body="## Body heading", conclusion="## Closing heading")
    names = [entry["name"] for entry in article.contents(faq_title="Frequently Asked Questions")]
    assert names == ["Body heading", "Frequently Asked Questions", "Closing heading"]
    assert [entry["name"] for entry in article.contents()] == ["Body heading", "Closing heading"]


def test_faq_answer_is_rendered_on_save_and_ordered_by_position():
    article = ArticleFactory()
    second = FAQEntryFactory(article=article, position=2, answer="Second *answer*.")
    first = FAQEntryFactory(article=article, position=1, answer="## Not an anchor\n\nFirst.")
    assert list(article.faqs.all()) == [first, second]
    assert second.answer_html == "<p>Second <em>answer</em>.</p>"
    assert "<h2>Not an anchor</h2>" in first.answer_html
    assert second.answer_text == "Second answer."


def test_search_uses_english_stemming_and_ranks_title_matches_first():
    body_match = ArticleFactory(title="Living well", body="Managing treatments of many kinds.")
    title_match = ArticleFactory(title="Treatment options", body="Words.")
    ArticleFactory(title="Unrelated", body="Nothing to see.")
    results = list(Article.objects.published().search("treatments"))
    assert results == [title_match, body_match]
    assert results[0].rank > results[1].rank
    assert results[0].title_highlighted == f"{HIGHLIGHT_START}Treatment{HIGHLIGHT_STOP} options"
    assert f"{HIGHLIGHT_START}treatments{HIGHLIGHT_STOP}" in results[1].snippet


def test_search_reads_the_faq_and_follows_its_changes():
    article = ArticleFactory(title="Costs", body="About paying.")
    faq = FAQEntryFactory(article=article, question="Is it covered?", answer="Check with your insurer.")
    assert list(Article.objects.search("insurer")) == [article]
    faq.answer = "Ask your plan."
    faq.save()
    assert list(Article.objects.search("insurer")) == []
    faq.delete()
    assert list(Article.objects.search("covered")) == []
    article.refresh_from_db()
    assert article.search_text == "About paying."


def test_search_text_cannot_forge_highlight_markers():
    article = ArticleFactory(title=f"Odd {HIGHLIGHT_START}title", body=f"Body {HIGHLIGHT_STOP} text")
    assert HIGHLIGHT_START not in article.title
    assert HIGHLIGHT_STOP not in article.search_text


def test_clean_search_terms_drops_nul_bytes_and_bounds_length():
    assert clean_search_terms("side\x00effects") == "side effects"
    assert len(clean_search_terms("a" * 10_000)) == 200
    assert clean_search_terms(None) == ""
    assert clean_search_terms("  lots   of\tspace ") == "lots of space"


def test_overdue_for_review_and_review_state():
    today = timezone.localdate()
    overdue = ArticleFactory(
        last_reviewed=today - datetime.timedelta(days=400), next_review_due=today - datetime.timedelta(days=1)
    )
    soon = ArticleFactory(next_review_due=today + datetime.timedelta(days=10))
    current = ArticleFactory(next_review_due=today + datetime.timedelta(days=200))
    unset = ArticleFactory(last_reviewed=None, next_review_due=None)
    assert list(Article.objects.overdue_for_review()) == [overdue]
    assert [a.review_state for a in (overdue, soon, current, unset)] == [
        "overdue",
        "due_soon",
        "current",
        "unset",
    ]
    assert overdue.is_overdue_for_review and not current.is_overdue_for_review


def test_related_to_shares_a_topic_and_excludes_itself():
    bipolar, anxiety = TopicFactory(name="Bipolar disorder"), TopicFactory(name="Anxiety")
    article = ArticleFactory(topics=[bipolar])
    related = ArticleFactory(topics=[bipolar, anxiety])
    ArticleFactory(topics=[anxiety])
    ArticleFactory(topics=[bipolar], draft=True)
    assert list(Article.objects.published().related_to(article)) == [related]
    assert list(Article.objects.published().related_to(ArticleFactory())) == []


def test_publish_service_sets_status_and_date():
    article = ArticleFactory(draft=True)
    article_publish(article=article)
    article.refresh_from_db()
    assert article.status == Article.Status.PUBLISHED
    assert article.published_at <= timezone.now()
    assert article.is_public


def test_publish_service_keeps_a_scheduled_date():
    when = timezone.now() + datetime.timedelta(days=3)
    article = ArticleFactory(status=Article.Status.DRAFT, published_at=when)
    article_publish(article=article)
    article.refresh_from_db()
    assert article.published_at == when
    assert not article.is_public


def test_unpublish_service_takes_the_article_down():
    article = ArticleFactory()
    article_unpublish(article=article)
    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT
    assert not Article.objects.published().exists()


def test_fingerprint_changes_with_any_editable_content():
    article = ArticleFactory(topics=[TopicFactory()])
    fingerprint = article.compute_fingerprint()
    assert fingerprint == article.compute_fingerprint()
    FAQEntryFactory(article=article)
    assert article.compute_fingerprint() != fingerprint


def test_str_is_the_title():
    assert str(ArticleFactory(title="On ketamine")) == "On ketamine"
    assert str(TopicFactory(name="Depression")) == "Depression"
