"""The education library in a real browser, as a patient on a phone or a desktop uses it."""

import io
import re

import pytest
from django.core.management import call_command

from education.models import Article

from .conftest import CHROMIUM, PHONE  # noqa: F401 - CHROMIUM documents which browser runs these

ARTICLE = "/learn/ketamine-for-bipolar-disorder/"


@pytest.fixture
def seed_article(transactional_db):
    """The clinic's article, facts and synonyms, committed so that the live server's thread can read them."""
    call_command("load_clinic_content", stdout=io.StringIO())
    return Article.objects.get(slug="ketamine-for-bipolar-disorder")


@pytest.mark.parametrize(
    "path",
    [
        "/learn/",
        ARTICLE,
        "/learn/?q=side+effects",
        "/learn/?q=xylophone",
        "/learn/?q=ketmine",
        "/learn/?q=spravato",
    ],
)
def test_library_pages_have_no_wcag_violations(page, live_server, assert_accessible, seed_article, path):
    page.goto(live_server.url + path)
    assert page.locator("h1").count() == 1
    assert_accessible(page)


def test_article_with_every_faq_open_has_no_wcag_violations(
    page, live_server, assert_accessible, seed_article
):
    page.goto(live_server.url + ARTICLE)
    for summary in page.locator("summary").all():
        summary.click()
    assert page.locator("details[open]").count() == 4
    assert_accessible(page)


@pytest.mark.parametrize(
    "path", ["/learn/", ARTICLE, "/learn/?q=ketamine", "/costs/", "/what-to-expect/", "/"]
)
def test_no_horizontal_scroll_on_a_phone(phone_page, live_server, seed_article, path):
    phone_page.goto(live_server.url + path)
    overflow = phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0


def test_patient_finds_the_article_from_home_reads_and_reaches_the_form(
    phone_page, live_server, seed_article
):
    page = phone_page
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="How Ketamine for Bipolar Disorder Treatment Works").click()
    page.wait_for_url(re.compile(r"/learn/ketamine-for-bipolar-disorder/$"))

    # Jump through the table of contents.
    page.locator("#toc").get_by_role("link", name="Medical History").click()
    page.wait_for_url(re.compile(r"#medical-history$"))
    # Bootstrap scrolls smoothly: wait until the heading has arrived at the top of the screen.
    page.wait_for_function(
        "() => { const r = document.getElementById('medical-history').getBoundingClientRect();"
        " return r.top >= 0 && r.top < 100; }"
    )

    # Open an answer.
    question = page.get_by_text("How is Ketamine Administered for Bipolar Disorder?")
    answer = page.get_by_text("typically administered intravenously (IV) or via nasal spray")
    assert not answer.is_visible()
    question.click()
    assert answer.is_visible()

    # One tap to the consultation form, which knows where the patient came from.
    cta = page.locator(".article-cta").get_by_role("link", name="Request a consultation")
    box = cta.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    cta.click()
    page.wait_for_url(re.compile(r"/consultation/\?from=ketamine-for-bipolar-disorder$"))
    assert page.locator("h1").count() == 1


def test_faq_answers_open_without_javascript(browser, live_server, seed_article):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + ARTICLE)
    details = page.locator("details.faq__item").first
    assert details.get_attribute("open") is None
    details.locator("summary").click()
    assert details.get_attribute("open") == ""
    assert page.get_by_text("Common side effects of ketamine treatment").is_visible()
    context.close()


def test_faq_answer_opens_from_the_keyboard(phone_page, live_server, seed_article):
    phone_page.goto(live_server.url + ARTICLE)
    summary = phone_page.locator("summary").first
    summary.focus()
    phone_page.keyboard.press("Enter")
    assert phone_page.locator("details.faq__item").first.get_attribute("open") == ""


def test_search_from_a_phone_highlights_what_matched(phone_page, live_server, seed_article):
    phone_page.goto(live_server.url + "/learn/")
    phone_page.get_by_label("Search the articles").fill("insurance")
    phone_page.keyboard.press("Enter")
    phone_page.wait_for_url(re.compile(r"\?q=insurance$"))
    assert phone_page.get_by_role("heading", name="1 article matches “insurance”").is_visible()
    assert phone_page.locator("ol.article-cards mark").first.inner_text().lower() == "insurance"


def test_a_result_opens_the_faq_answer_that_matched_with_the_words_marked(
    phone_page, live_server, seed_article
):
    phone_page.goto(live_server.url + "/learn/?q=side+effects")
    phone_page.locator("ol.article-cards a").first.click()
    phone_page.wait_for_url(re.compile(r"#faq-answer-1$"))
    answer = phone_page.locator("#faq-answer-1")
    assert answer.is_visible()
    assert phone_page.locator("#faq-answer-1").locator("xpath=..").get_attribute("open") == ""
    marked = [text.lower() for text in phone_page.locator("mark.search-hit").all_inner_texts()]
    assert "side" in marked and "effects" in marked
    # Only the part that matched is marked, not the rest of the article.
    assert phone_page.locator(".article__body mark.search-hit").count() == 0


def test_article_page_keeps_to_the_content_security_policy(browser, live_server, seed_article):
    context = browser.new_context()
    page = context.new_page()
    requested, violations = [], []
    page.on("request", lambda r: requested.append(r.url))
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    response = page.goto(live_server.url + ARTICLE)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert requested and all(url.startswith(live_server.url) for url in requested)
    assert violations == []
    # The education stylesheet was applied: the FAQ chevron is drawn by it.
    assert page.locator("summary").first.evaluate("el => getComputedStyle(el, '::after').content") == '""'
    context.close()
