"""The clinic's own article: served complete, in order, structured as it reads, loaded idempotently."""

import re

import pytest
from django.core.management import call_command

from education.models import Article, FAQEntry, Topic

from .conftest import SEED_TEXT, normalise, split_sentences, visible_text

pytestmark = pytest.mark.django_db

URL = "/learn/ketamine-for-bipolar-disorder/"
MECHANISMS = [
    "NMDA Receptor Modulation",
    "Glutamate Pathway Modulation",
    "Neuroplasticity",
    "Anti-inflammatory Effects",
    "Rapid Onset of Action",
]
CONSIDERATIONS = [
    "Severity of Symptoms",
    "Medical History",
    "Treatment Setting and Monitoring",
    "Risk-Benefit Assessment",
    "Long-Term Management Plan",
]
QUESTIONS = [
    "What Are the Potential Side Effects of Ketamine Treatment?",
    "How is Ketamine Administered for Bipolar Disorder?",
    "How Soon Can I Expect to See Results from Ketamine Treatment?",
    "Is Ketamine Treatment Covered by Insurance for Bipolar Disorder?",
]
CREDITS = ["Photo by Andrea Piacquadio from Pexels", "Photo by MART PRODUCTION from Pexels"]
# Lines of the original page's layout rather than its prose: the contents' label and the
# images' alt text. They are checked on their own below.
LAYOUT_LINES = {"Table of Contents", "ketamine for bipolar disorder"}


def seed_units():
    """The seed text as the units a reader meets, in order: headings, sentences, credit lines."""
    units = []
    for line in SEED_TEXT.read_text(encoding="utf-8").splitlines():
        line = normalise(line.lstrip().removeprefix("•"))
        if not line or line in LAYOUT_LINES:
            continue
        if line.startswith("Photo by "):
            units.append(("credit", line))
        else:
            units.extend(("prose", sentence) for sentence in split_sentences(line))
    return units


def test_seed_units_are_what_the_clinic_wrote():
    units = seed_units()
    prose = [text for kind, text in units if kind == "prose"]
    # A guard on the parsing above: if it broke, the real test below would prove little.
    assert len(prose) == 70
    assert prose[0] == "How Ketamine for Bipolar Disorder Treatment Works"
    assert (
        prose[-1]
        == "Make an appointment now or call us to learn more about ketamine for bipolar disorder treatment."
    )
    assert [text for kind, text in units if kind == "credit"] == CREDITS


def test_every_sentence_of_the_seed_text_is_on_the_page(client, seed_article):
    response = client.get(URL)
    assert response.status_code == 200
    page_text = visible_text(response.content.decode())
    # With the safety information beside it: the clinic's own words are all still there.
    assert "Before you consider ketamine" in page_text
    missing = [text for kind, text in seed_units() if kind == "prose" and text not in page_text]
    assert missing == []


def test_the_seed_text_reads_in_its_own_order(client, seed_article):
    page_html = client.get(URL).content.decode()
    # The article itself, without the table of contents that repeats its headings.
    article_text = visible_text(page_html, root_tag="article", skip_ids={"toc"})
    position = 0
    for kind, text in seed_units():
        if kind != "prose":
            continue
        found = article_text.find(text, position)
        assert found >= 0, f"out of order or missing: {text!r}"
        position = found + len(text)


def test_layout_lines_have_their_place(client, seed_article):
    page_html = client.get(URL).content.decode()
    assert re.search(r'<nav class="toc"[^>]*>\s*<h2 id="toc-title"[^>]*>Table of Contents</h2>', page_html)
    assert seed_article.hero_image_alt == "ketamine for bipolar disorder"
    assert seed_article.faq_image_alt == "ketamine for bipolar disorder"


def test_sections_are_headings_in_the_body(seed_article):
    headings = re.findall(r"<h2 id=\"([^\"]+)\">([^<]+)</h2>", seed_article.body_html)
    assert [name for _, name in headings] == [
        "What Is Ketamine for Bipolar Disorder Treatment?",
        "How Does Ketamine for Bipolar Disorder Treatment Work?",
        "Is Ketamine for Bipolar Disorder Treatment Really Effective?",
    ]
    assert [entry["name"] for entry in seed_article.toc] == [name for _, name in headings]


def test_the_five_mechanisms_are_a_list_with_bold_lead_ins(seed_article):
    items = re.findall(r"<li><strong>([^<]+)</strong> — ", seed_article.body_html)
    assert items == MECHANISMS
    assert seed_article.body_html.count("<ul>") == 1


def test_the_five_considerations_are_sub_headings(seed_article):
    sub_headings = re.findall(r"<h3 id=\"[^\"]+\">([^<]+)</h3>", seed_article.body_html)
    assert sub_headings == CONSIDERATIONS
    effective = seed_article.toc[2]
    assert [child["name"] for child in effective["children"]] == CONSIDERATIONS


def test_the_four_questions_are_faq_entries_not_body_text(client, seed_article):
    assert list(seed_article.faqs.values_list("question", flat=True)) == QUESTIONS
    for question in QUESTIONS:
        assert question not in seed_article.body_html
        assert question not in seed_article.conclusion_html
    page_html = client.get(URL).content.decode()
    summaries = re.findall(r'<summary class="faq__question">([^<]+)</summary>', page_html)
    assert [normalise(s) for s in summaries] == QUESTIONS


def test_photo_credits_are_kept_and_shown_only_with_their_photos(client, seed_article):
    assert [seed_article.hero_image_credit, seed_article.faq_image_credit] == CREDITS
    # No photo yet: no credit for a picture nobody can see.
    assert seed_article.photo_credits == []
    assert '<section class="credits"' not in client.get(URL).content.decode()

    seed_article.hero_image.name = "education/articles/hero.jpg"
    seed_article.faq_image.name = "education/articles/faq.jpg"
    seed_article.save()
    page_html = client.get(URL).content.decode()
    credits = re.findall(r'<section class="credits".*?</section>', page_html, re.S)
    assert len(credits) == 1
    assert re.findall(r"<li>([^<]+)</li>", credits[0]) == CREDITS


def test_the_call_to_act_leads_to_the_consultation_form(client, seed_article):
    page_html = client.get(URL).content.decode()
    assert page_html.count('href="/consultation/?from=ketamine-for-bipolar-disorder"') >= 2
    assert 'href="tel:+15550100100"' in page_html


def test_the_seed_article_is_public_with_a_topic_and_a_reviewer(seed_article):
    assert Article.objects.published().filter(pk=seed_article.pk).exists()
    assert list(seed_article.topics.values_list("name", flat=True)) == ["Bipolar disorder"]
    assert seed_article.reviewer_name == "Clinical team, Anti Aging and Ketamine Center"
    assert seed_article.last_reviewed < seed_article.next_review_due


def test_command_run_twice_makes_one_article(capsys):
    call_command("load_clinic_content")
    first = Article.objects.get()
    updated_at = first.updated_at
    call_command("load_clinic_content")
    assert Article.objects.count() == 1
    assert FAQEntry.objects.count() == 4
    assert Topic.objects.count() == 1
    first.refresh_from_db()
    assert first.updated_at == updated_at
    assert capsys.readouterr().out.splitlines() == [
        "ketamine-for-bipolar-disorder: created",
        "safety information ketamine: created",
        "clinic facts: created",
        "search synonyms: 7 added",
        "ketamine-for-bipolar-disorder: unchanged",
        "safety information ketamine: unchanged",
        "clinic facts: unchanged",
        "search synonyms: 0 added",
    ]


def test_command_never_overwrites_a_staff_edit(seed_article):
    seed_article.title = "How ketamine treatment for bipolar disorder works"
    seed_article.save()
    call_command("load_clinic_content")
    seed_article.refresh_from_db()
    assert seed_article.title == "How ketamine treatment for bipolar disorder works"


def test_command_never_overwrites_an_edited_faq_answer(seed_article):
    faq = seed_article.faqs.first()
    faq.answer = "Our clinicians will talk you through side effects at your consultation."
    faq.save()
    call_command("load_clinic_content")
    faq.refresh_from_db()
    assert faq.answer == "Our clinicians will talk you through side effects at your consultation."
    assert FAQEntry.objects.count() == 4


def test_command_never_republishes_an_article_staff_took_down(seed_article):
    from education.services import article_unpublish

    article_unpublish(article=seed_article)
    call_command("load_clinic_content")
    seed_article.refresh_from_db()
    assert seed_article.status == Article.Status.DRAFT


def test_command_refreshes_an_untouched_article_when_the_content_file_changes(seed_article, tmp_path):
    from education.services import CONTENT_DIR, clinic_content_load

    source = (CONTENT_DIR / "ketamine-for-bipolar-disorder.toml").read_text(encoding="utf-8")
    (tmp_path / "article.toml").write_text(
        source.replace("got you covered!", "has you covered!"), encoding="utf-8"
    )
    (result,) = clinic_content_load(directory=tmp_path)
    assert result.outcome == "updated"
    seed_article.refresh_from_db()
    assert "has you covered!" in seed_article.body_html
    assert Article.objects.count() == 1
