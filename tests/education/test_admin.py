"""The editors' workspace: lists, filters, the FAQ inline, publishing, and fixing a typo live."""

import datetime
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from education.models import Article
from tests.factories import ArticleFactory, FAQEntryFactory, TopicFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/education/article/"


def add_articles(count, *, start=0):
    topic = TopicFactory(slug="bipolar", name="Bipolar")
    for n in range(start, start + count):
        article = ArticleFactory(slug=f"a-{n}", topics=[topic])
        FAQEntryFactory(article=article)


# Session, user and second factor (3), topics filter, counts (2), articles, their topics,
# the date hierarchy (2), and the session's save (3).
ADMIN_LIST_QUERIES = 13


def count_queries(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize("url", [CHANGELIST, f"{CHANGELIST}?review=overdue", "/admin/education/topic/"])
def test_admin_lists_run_a_fixed_number_of_queries(staff_client, url):
    add_articles(1)
    staff_client.get(url)  # The session's first request differs (it loads the second factor once).
    with_one = count_queries(staff_client, url)
    add_articles(49, start=1)
    with_fifty = count_queries(staff_client, url)
    assert with_one == with_fifty <= ADMIN_LIST_QUERIES


def test_article_list_shows_fifty_articles_within_the_query_budget(
    staff_client, django_assert_max_num_queries
):
    add_articles(50)
    staff_client.get(CHANGELIST)
    with django_assert_max_num_queries(ADMIN_LIST_QUERIES):
        response = staff_client.get(CHANGELIST)
    assert response.content.decode().count('class="field-title"') == 50


def test_article_list_has_status_topic_and_review_filters_and_an_overdue_column(staff_client):
    ArticleFactory(topics=[TopicFactory()])
    html = staff_client.get(CHANGELIST).content.decode()
    assert "By status" in html
    assert "By topics" in html
    assert "By review state" in html
    assert "Overdue for review" in html
    assert 'column-overdue_for_review"' in html


def test_overdue_filter_shows_only_overdue_articles(staff_client):
    today = timezone.localdate()
    ArticleFactory(
        title="Overdue article",
        last_reviewed=today - datetime.timedelta(days=400),
        next_review_due=today - datetime.timedelta(days=1),
    )
    ArticleFactory(title="Current article", next_review_due=today + datetime.timedelta(days=300))
    ArticleFactory(title="Due soon article", next_review_due=today + datetime.timedelta(days=5))
    html = staff_client.get(CHANGELIST, {"review": "overdue"}).content.decode()
    assert "Overdue article" in html
    assert "Current article" not in html
    html = staff_client.get(CHANGELIST, {"review": "due_soon"}).content.decode()
    assert "Due soon article" in html
    assert "Overdue article" not in html


def test_add_form_has_prepopulated_slug_and_the_faq_inline(staff_client):
    html = staff_client.get("/admin/education/article/add/").content.decode()
    assert "data-prepopulated-fields" in html
    assert "&quot;id&quot;: &quot;#id_slug&quot;" in html
    assert 'name="faqs-TOTAL_FORMS"' in html
    assert 'name="faqs-__prefix__-position"' in html


def test_staff_write_an_article_with_ordered_questions_in_the_admin(staff_client):
    topic = TopicFactory()
    response = staff_client.post(
        "/admin/education/article/add/",
        {
            "title": "Nasal spray or infusion?",
            "slug": "nasal-spray-or-infusion",
            "summary": "How the two ways of taking ketamine differ.",
            "topics": [topic.pk],
            "body": "## The difference\n\n<script>alert(1)</script>Text.",
            "conclusion": "",
            "status": "published",
            "published_at_0": "",
            "published_at_1": "",
            "reviewer_name": "Clinical team",
            "reviewer_credentials": "",
            "last_reviewed": "2026-11-01",
            "next_review_due": "2027-11-01",
            "hero_image_alt": "",
            "hero_image_credit": "",
            "faq_image_alt": "",
            "faq_image_credit": "",
            "faqs-TOTAL_FORMS": "2",
            "faqs-INITIAL_FORMS": "0",
            "faqs-MIN_NUM_FORMS": "0",
            "faqs-MAX_NUM_FORMS": "1000",
            "faqs-0-position": "2",
            "faqs-0-question": "Second question?",
            "faqs-0-answer": "Second answer.",
            "faqs-1-position": "1",
            "faqs-1-question": "First question?",
            "faqs-1-answer": "First answer.",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    article = Article.objects.get(slug="nasal-spray-or-infusion")
    assert article.is_public
    assert article.body_html.startswith('<h2 id="the-difference">The difference</h2>')
    assert "<script" not in article.body_html
    assert "<p>Text.</p>" in article.body_html
    assert list(article.faqs.values_list("question", flat=True)) == ["First question?", "Second question?"]
    html = staff_client.get(article.get_absolute_url()).content.decode()
    assert html.index("First question?") < html.index("Second question?")
    assert "alert(1)" not in html


def test_publish_and_unpublish_actions(staff_client):
    public = Client()
    draft = ArticleFactory(draft=True, slug="draft-one")
    response = staff_client.post(
        CHANGELIST, {"action": "publish", "_selected_action": [draft.pk]}, follow=True
    )
    assert "1 article published." in response.content.decode()
    draft.refresh_from_db()
    assert draft.is_public
    assert public.get("/learn/draft-one/").status_code == 200
    response = staff_client.post(
        CHANGELIST, {"action": "unpublish", "_selected_action": [draft.pk]}, follow=True
    )
    assert "1 article unpublished." in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == Article.Status.DRAFT
    assert public.get("/learn/draft-one/").status_code == 404


def test_change_form_links_to_the_preview(staff_client):
    draft = ArticleFactory(draft=True, slug="draft-one")
    html = staff_client.get(f"/admin/education/article/{draft.pk}/change/").content.decode()
    assert 'href="/learn/draft-one/preview/"' in html
    assert "Preview (staff only)" in html
    # Django's "View on site" button leads there too, never to the public address's 404.
    assert re.search(r'<a href="/learn/draft-one/preview/" class="viewsitelink"', html)


def test_change_form_of_a_public_article_links_to_its_public_page(staff_client):
    article = ArticleFactory(slug="public-one")
    html = staff_client.get(f"/admin/education/article/{article.pk}/change/").content.decode()
    assert re.search(r'<a href="/learn/public-one/" class="viewsitelink"', html)
    assert "View the article" in html


def test_a_typo_fixed_in_the_admin_is_live_at_once(staff_client, seed_article):
    url = f"/admin/education/article/{seed_article.pk}/change/"
    form = staff_client.get(url).context["adminform"].form
    data = {name: form.initial.get(name, "") for name in form.fields}
    data.update(
        {
            "title": "How Ketamine for Bipolar Disorder Treatment Works",
            "topics": [topic.pk for topic in seed_article.topics.all()],
            "published_at_0": seed_article.published_at.astimezone(timezone.get_current_timezone()).strftime(
                "%Y-%m-%d"
            ),
            "published_at_1": seed_article.published_at.astimezone(timezone.get_current_timezone()).strftime(
                "%H:%M:%S"
            ),
            "body": seed_article.body.replace("got you covered!", "has you covered!"),
            "last_reviewed": seed_article.last_reviewed.isoformat(),
            "next_review_due": seed_article.next_review_due.isoformat(),
            "hero_image": "",
            "faq_image": "",
        }
    )
    faqs = list(seed_article.faqs.all())
    data.update(
        {
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
                f"faqs-{i}-article": seed_article.pk,
                f"faqs-{i}-position": faq.position,
                f"faqs-{i}-question": faq.question,
                f"faqs-{i}-answer": faq.answer,
            }
        )
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    html = Client().get(seed_article.get_absolute_url()).content.decode()
    assert "has you covered!" in html
    assert "got you covered!" not in html


def test_an_uploaded_image_needs_alt_text(staff_client, settings, tmp_path):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), "teal").save(buffer, format="PNG")
    article = ArticleFactory(slug="needs-alt")
    url = f"/admin/education/article/{article.pk}/change/"
    form = staff_client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "topics"}
    data.update(
        {
            "published_at_0": article.published_at.strftime("%Y-%m-%d"),
            "published_at_1": article.published_at.strftime("%H:%M:%S"),
            "last_reviewed": article.last_reviewed.isoformat(),
            "next_review_due": article.next_review_due.isoformat(),
            "faqs-TOTAL_FORMS": "0",
            "faqs-INITIAL_FORMS": "0",
            "faqs-MIN_NUM_FORMS": "0",
            "faqs-MAX_NUM_FORMS": "1000",
        }
    )
    data.pop("hero_image", None)
    data.pop("faq_image", None)
    upload = SimpleUploadedFile("room.png", buffer.getvalue(), content_type="image/png")
    response = staff_client.post(url, {**data, "hero_image": upload, "hero_image_alt": ""})
    assert response.status_code == 200
    assert "Describe the hero image for people who cannot see it." in response.content.decode()

    upload = SimpleUploadedFile("room.png", buffer.getvalue(), content_type="image/png")
    response = staff_client.post(url, {**data, "hero_image": upload, "hero_image_alt": "A quiet room"})
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.hero_image.name.startswith("education/articles/room")
    assert (tmp_path / article.hero_image.name).exists()


def test_publishing_an_article_that_fails_validation_says_why(staff_client):
    broken = ArticleFactory(draft=True, slug="broken")
    # A slug the library reserves, set behind the model's back as an old row might have it.
    Article.objects.filter(pk=broken.pk).update(slug="feed")
    fine = ArticleFactory(draft=True, slug="fine")
    response = staff_client.post(
        CHANGELIST, {"action": "publish", "_selected_action": [broken.pk, fine.pk]}, follow=True
    )
    html = response.content.decode()
    assert "was left as it was: “feed” is taken by another page of the library." in html
    assert "1 article published." in html
    broken.refresh_from_db()
    fine.refresh_from_db()
    assert broken.status == Article.Status.DRAFT
    assert fine.is_public
