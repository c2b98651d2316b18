"""Whole journeys in a real browser, on a phone and on a desktop: from the home page to a request."""

import re

import pytest
from playwright.sync_api import expect

from appointments.models import ConsultationRequest
from education.services import clinic_content_load

ARTICLE_TITLE = "How Ketamine for Bipolar Disorder Treatment Works"
ARTICLE_SLUG = "ketamine-for-bipolar-disorder"
SELF_HARM_QUESTION = re.compile("thoughts of harming yourself")
CRISIS_HEADING = "Help is available right now"
RECEIVED = re.compile(r"/consultation/received/[A-Za-z0-9_-]{40,}/$")


@pytest.fixture
def seed_article(transactional_db):
    """The clinic's article, committed so that the live server's thread can read it."""
    (result,) = clinic_content_load()
    return result.article


def read_the_article_and_ask_for_a_consultation(page, live_server):
    """Home page, the article, its table of contents, one answer, then the call to action."""
    page.goto(live_server.url + "/")
    expect(page.locator(".crisis-bar").get_by_role("link", name="988")).to_be_in_viewport()
    page.get_by_role("link", name=ARTICLE_TITLE).first.click()
    page.wait_for_url(re.compile(rf"/learn/{ARTICLE_SLUG}/$"))
    expect(page.get_by_role("heading", name=ARTICLE_TITLE, level=1)).to_be_visible()

    page.locator("#toc").get_by_role("link", name="Medical History").click()
    page.wait_for_url(re.compile(r"#medical-history$"))
    # Scrolling may be smooth: wait until the section's heading reaches the top of the screen.
    page.wait_for_function(
        "() => { const r = document.getElementById('medical-history').getBoundingClientRect();"
        " return r.top >= 0 && r.top < 120; }"
    )

    question = page.locator("summary", has_text="How is Ketamine Administered for Bipolar Disorder?")
    answer = page.get_by_text("typically administered intravenously (IV) or via nasal spray")
    expect(answer).to_be_hidden()
    question.click()
    expect(answer).to_be_visible()

    page.locator(".article-cta").get_by_role("link", name="Request a consultation").click()
    page.wait_for_url(re.compile(rf"/consultation/\?from={ARTICLE_SLUG}$"))
    expect(page.get_by_role("heading", name="Request a consultation", level=1)).to_be_visible()
    page.get_by_role("button", name="Start now").click()
    page.wait_for_url(re.compile(rf"/consultation/you/\?from={ARTICLE_SLUG}$"))


def go_on(page):
    page.get_by_role("button", name="Continue").click()


def book(page, *, email, self_harm="No"):
    """The four steps, as a patient who skips everything optional; returns at the check page."""
    page.get_by_label("First name").fill("Dana")
    page.get_by_label("Last name").fill("Whitfield")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Phone number").fill("(646) 555-0142")
    page.get_by_role("radio", name="Text message").check()
    page.get_by_label("I have read the privacy notice").check()
    page.get_by_label("The clinic may contact me").check()
    go_on(page)
    if page.locator(".error-summary").count():
        return
    page.get_by_role("group", name=SELF_HARM_QUESTION).get_by_label(self_harm, exact=True).check()
    go_on(page)
    if self_harm == "Yes":
        expect(page.get_by_role("heading", name=CRISIS_HEADING, level=1)).to_be_visible()
        page.get_by_role("button", name="Carry on with your request").click()
    page.get_by_label("Which state will you be in").select_option(label="New Jersey")
    page.get_by_role("group", name="Are you 18 or older?").get_by_label("Yes", exact=True).check()
    go_on(page)
    page.get_by_label("Bipolar depression").check()
    page.get_by_label("Telehealth (video call)").check()
    go_on(page)
    expect(page.get_by_role("heading", name="Check your answers", level=1)).to_be_visible()


def send(page):
    page.get_by_label("I understand this form is not for emergencies").check()
    page.get_by_role("button", name="Send my request").click()


def test_a_patient_reads_the_article_and_asks_for_a_consultation(page, live_server, seed_article):
    read_the_article_and_ask_for_a_consultation(page, live_server)

    book(page, email="dana.whitfield@example")
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(page).to_have_title(re.compile("^Error: "))
    email = page.get_by_label("E-mail address")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(re.compile("Enter an e-mail address in the right format"))
    expect(page.get_by_label("Last name")).to_have_value("Whitfield")
    expect(page.get_by_role("radio", name="Text message")).to_be_checked()
    assert not ConsultationRequest.objects.exists()

    book(page, email="dana.whitfield@example.com")
    send(page)

    page.wait_for_url(RECEIVED)
    consultation_request = ConsultationRequest.objects.get()
    main = page.locator("main")
    expect(main.get_by_role("heading").first).to_have_text("Your request has been received")
    expect(page.locator(".reference-box__value")).to_have_text(consultation_request.reference)
    expect(page.get_by_text(CRISIS_HEADING)).to_have_count(0)
    assert consultation_request.source_article_slug == ARTICLE_SLUG
    assert (consultation_request.contact_method, consultation_request.text_ok) == ("text", True)
    assert not consultation_request.is_urgent


def test_a_person_with_thoughts_of_self_harm_sees_crisis_help_first(page, live_server, seed_article):
    read_the_article_and_ask_for_a_consultation(page, live_server)

    book(page, email="dana.whitfield@example.com", self_harm="Yes")
    assert not ConsultationRequest.objects.exists()
    send(page)

    page.wait_for_url(RECEIVED)
    main = page.locator("main")
    expect(main.get_by_role("heading", level=1)).to_have_text(CRISIS_HEADING)
    expect(main.get_by_role("heading").first).to_have_text(CRISIS_HEADING)
    for name in ("Call 988", "Text 988", "Text HOME to 741741", "Call 911"):
        expect(main.get_by_role("link", name=name)).to_be_visible()
    expect(main.get_by_role("link", name="Call 988")).to_be_in_viewport()
    help_top = main.locator(".crisis-help").bounding_box()["y"]
    reference_top = main.locator(".reference-box").bounding_box()["y"]
    assert help_top < reference_top
    consultation_request = ConsultationRequest.objects.get()
    assert consultation_request.is_urgent
    assert consultation_request.source_article_slug == ARTICLE_SLUG
