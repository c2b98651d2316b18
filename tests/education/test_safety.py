"""Safety information beside the clinic's article: its own box, its own review, in the structured data."""

import datetime
import json
import re

import pytest

from education.models import SafetyNotice
from education.services import SAFETY_FILES, read_content_file, safety_notice_load

from .conftest import visible_text

pytestmark = pytest.mark.django_db

URL = "/learn/ketamine-for-bipolar-disorder/"


def test_the_box_sits_after_the_clinics_text_and_before_the_questions(client, seed_article):
    html = client.get(URL).content.decode()
    body_end = html.index('<div class="prose article__body">') + len(seed_article.body_html)
    box = html.index('<section class="safety-box" id="safety"')
    assert body_end < box < html.index('<section class="faq" id="faq"')
    assert re.search(r'<li><a href="#safety">Before you consider ketamine</a>\s*</li>', html)


def test_the_box_says_what_a_patient_must_weigh(client, seed_article):
    text = visible_text(client.get(URL).content.decode(), root_id="safety", root_tag="section")
    for words in [
        "Before you consider ketamine",
        "It is not FDA-approved for bipolar disorder or for depression",
        "mania or hypomania now, or psychosis",
        "high blood pressure that is not under control",
        "some heart conditions",
        "a pregnancy",
        "a current or past problem with alcohol or drugs",
        "A switch into mania or hypomania.",
        "Common side effects",
        "Talk to your psychiatrist",
        "Reviewed by Clinical team, Anti Aging and Ketamine Center",
        "Last reviewed: November 28, 2026",
        "Next review due: May 28, 2027",
    ]:
        assert words in text, words


def test_the_box_is_part_of_the_pages_structured_data(client, seed_article):
    html = client.get(URL).content.decode()
    (data,) = [
        json.loads(b) for b in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    ]
    (page,) = [node for node in data["@graph"] if node["@type"] == "MedicalWebPage"]
    assert page["hasPart"]["@id"] == "http://127.0.0.1:8000/learn/ketamine-for-bipolar-disorder/#safety"
    assert page["hasPart"]["name"] == "Before you consider ketamine"
    assert "switch into mania or hypomania" in page["hasPart"]["text"]


def test_an_editors_change_shows_and_the_loader_leaves_it(client, seed_article):
    notice = SafetyNotice.objects.get(key="ketamine")
    notice.title = "Is ketamine safe for me?"
    notice.last_reviewed = datetime.date(2027, 1, 10)
    notice.next_review_due = datetime.date(2027, 7, 10)
    notice.save()
    assert "Is ketamine safe for me?" in client.get(URL).content.decode()
    for path in SAFETY_FILES:
        assert safety_notice_load(content=read_content_file(path)) == "unchanged"
    assert SafetyNotice.objects.get().title == "Is ketamine safe for me?"


def test_an_article_without_a_box_shows_none(client, seed_article):
    seed_article.safety_notice = None
    seed_article.save()
    html = client.get(URL).content.decode()
    assert 'id="safety"' not in html
    assert "hasPart" not in html
    # Taken off by an editor, it stays off when the content is loaded again.
    for path in SAFETY_FILES:
        safety_notice_load(content=read_content_file(path))
    seed_article.refresh_from_db()
    assert seed_article.safety_notice is None


def test_review_dates_must_be_in_order(seed_article):
    notice = SafetyNotice.objects.get()
    notice.next_review_due = notice.last_reviewed
    with pytest.raises(Exception, match="next review must be due after"):
        notice.full_clean()
