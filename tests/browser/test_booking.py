"""The stepped booking in a real browser, on a phone (390 px) and a desktop (1280 px): plain and
urgent bookings, a patient who leaves and comes back, an urgent draft reaching staff, the keyboard
alone, no JavaScript, and axe on every page with and without errors."""

import datetime
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from appointments.models import BookingDraft, ConsultationRequest, OutboundEmail
from appointments.services.drafts import booking_drafts_escalate_urgent
from tests.outbox import render_pending

SELF_HARM_QUESTION = re.compile("thoughts of harming yourself")
CRISIS_HEADING = "Help is available right now"
REFERENCE = re.compile(r"KC-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}")
RECEIVED = re.compile(r"/consultation/received/[A-Za-z0-9_-]{40,}/$")
# Screenshots of every page when this is set (a folder), for people to look at.
SHOTS = os.environ.get("BOOKING_SCREENSHOTS")


def shot(page, name):
    if SHOTS:
        width = page.viewport_size["width"]
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)


def step_heading(page, text, number):
    expect(page.get_by_role("heading", name=text, level=1)).to_be_visible()
    expect(page.locator(".booking__progress")).to_have_text(f"Step {number} of 5")


def start(page, live_server, query=""):
    page.goto(live_server.url + "/consultation/" + query)
    expect(page.get_by_role("heading", name="Request a consultation", level=1)).to_be_visible()
    shot(page, "0-start")
    page.get_by_role("button", name="Start now").click()
    step_heading(page, "Your contact details", 1)


def go_on(page):
    page.get_by_role("button", name="Continue").click()


def contact(page, *, phone="(212) 555-0199", method="Phone call"):
    page.get_by_label("First name").fill("Maria")
    page.get_by_label("Last name").fill("Okonkwo")
    page.get_by_label("E-mail address").fill("maria@example.com")
    page.get_by_label("Phone number").fill(phone)
    page.get_by_label(method).check()
    page.get_by_label("I have read the privacy notice").check()
    page.get_by_label("The clinic may contact me").check()


def safety(page, answer):
    page.get_by_role("group", name=SELF_HARM_QUESTION).get_by_label(answer, exact=True).check()


def where(page, state="New York", adult="Yes"):
    page.get_by_label("Which state will you be in").select_option(label=state)
    page.get_by_role("group", name="Are you 18 or older?").get_by_label(adult, exact=True).check()


def visit(page):
    page.get_by_label("Telehealth (video call)").check()


def send(page):
    page.get_by_label("I understand this form is not for emergencies").check()
    page.get_by_role("button", name="Send my request").click()


def test_a_plain_booking_with_a_mistake_and_a_change(page, live_server, assert_accessible):
    start(page, live_server, "?from=ketamine-for-bipolar-disorder")
    shot(page, "1-you")
    assert_accessible(page)
    contact(page, phone="12")
    go_on(page)

    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(page).to_have_title(re.compile("^Error: Your contact details"))
    phone = page.get_by_label("Phone number")
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(phone).to_have_accessible_description(re.compile("Enter a phone number we can call"))
    expect(page.get_by_label("First name")).to_have_value("Maria")
    shot(page, "1-you-errors")
    assert_accessible(page)
    summary.get_by_role("link", name=re.compile("Enter a phone number")).click()
    expect(phone).to_be_focused()
    phone.fill("(212) 555-0199")
    go_on(page)

    step_heading(page, "Your safety", 2)
    shot(page, "2-safety")
    safety(page, "No")
    go_on(page)
    step_heading(page, "Where you will be, and your age", 3)
    shot(page, "3-where")
    where(page)
    go_on(page)
    step_heading(page, "Your consultation", 4)
    expect(page.get_by_text("We will call you to find a time that suits you.")).to_be_visible()
    shot(page, "4-visit")
    visit(page)
    go_on(page)

    expect(page.get_by_role("heading", name="Check your answers", level=1)).to_be_visible()
    expect(page.locator(".booking__progress")).to_have_text("Step 5 of 5")
    shot(page, "5-check")
    assert_accessible(page)
    page.get_by_role("link", name="Change where you will be, and your age").click()
    step_heading(page, "Where you will be, and your age", 3)
    page.get_by_label("Which state will you be in").select_option(label="New Jersey")
    go_on(page)
    expect(page.get_by_role("heading", name="Check your answers", level=1)).to_be_visible()
    expect(page.locator(".check-answers")).to_contain_text("New Jersey")
    send(page)

    page.wait_for_url(RECEIVED)
    consultation_request = ConsultationRequest.objects.get()
    expect(page.get_by_role("heading", name="Your request has been received", level=1)).to_be_visible()
    expect(page.locator(".reference-box__value")).to_have_text(consultation_request.reference)
    expect(page.get_by_text(CRISIS_HEADING)).to_have_count(0)
    shot(page, "6-received")
    assert_accessible(page)
    assert (consultation_request.state, consultation_request.modality) == ("NJ", "telehealth")
    assert consultation_request.source_article_slug == "ketamine-for-bipolar-disorder"
    assert not consultation_request.is_urgent
    # Both e-mails queued with it.
    assert OutboundEmail.objects.count() == 2
    assert BookingDraft.objects.count() == 0


def test_an_urgent_booking_shows_crisis_help_right_after_the_answer(page, live_server, assert_accessible):
    start(page, live_server)
    contact(page)
    go_on(page)
    safety(page, "Yes")
    go_on(page)

    # The very next page: no further answer between the harm question and help.
    page.wait_for_url(re.compile(r"/consultation/help/$"))
    main = page.locator("main")
    expect(main.get_by_role("heading", level=1)).to_have_text(CRISIS_HEADING)
    for name in ("Call 988", "Text 988", "Text HOME to 741741", "Call 911"):
        expect(main.get_by_role("link", name=name)).to_be_visible()
    expect(main.get_by_role("link", name="Call 988")).to_be_in_viewport()
    expect(main.get_by_text("llame al 988 y marque 2")).to_be_visible()
    shot(page, "2b-help")
    assert_accessible(page)
    assert ConsultationRequest.objects.count() == 0

    main.get_by_role("button", name="Carry on with your request").click()
    step_heading(page, "Where you will be, and your age", 3)
    where(page)
    go_on(page)
    visit(page)
    go_on(page)
    send(page)

    page.wait_for_url(RECEIVED)
    expect(main.get_by_role("heading").first).to_have_text(CRISIS_HEADING)
    expect(main.get_by_role("link", name="Call 988")).to_be_in_viewport()
    assert (
        main.locator(".crisis-help").bounding_box()["y"] < main.locator(".reference-box").bounding_box()["y"]
    )
    shot(page, "6-received-urgent")
    consultation_request = ConsultationRequest.objects.get()
    assert consultation_request.is_urgent and not consultation_request.is_unfinished


def test_a_patient_who_leaves_after_step_two_resumes_in_the_same_browser(page, live_server):
    start(page, live_server)
    contact(page)
    go_on(page)
    safety(page, "No")
    go_on(page)
    step_heading(page, "Where you will be, and your age", 3)
    context = page.context
    page.close()

    # Later, in the same browser: the answers are there, and the steps pick up where they stopped.
    again = context.new_page()
    start(again, live_server)
    expect(again.get_by_label("First name")).to_have_value("Maria")
    expect(again.get_by_label("Phone call")).to_be_checked()
    go_on(again)
    # Straight on to the first step not yet answered.
    step_heading(again, "Where you will be, and your age", 3)
    again.get_by_role("link", name="Back").click()
    step_heading(again, "Your safety", 2)
    expect(again.get_by_role("group", name=SELF_HARM_QUESTION).get_by_label("No", exact=True)).to_be_checked()
    go_on(again)
    where(again)
    go_on(again)
    visit(again)
    go_on(again)
    send(again)
    again.wait_for_url(RECEIVED)
    assert ConsultationRequest.objects.get().first_name == "Maria"


def test_an_urgent_draft_left_30_minutes_reaches_staff(page, live_server):
    start(page, live_server)
    contact(page)
    go_on(page)
    safety(page, "Yes")
    go_on(page)
    page.wait_for_url(re.compile(r"/consultation/help/$"))
    # The patient leaves. The clock moves 31 minutes on; the periodic job runs.
    assert booking_drafts_escalate_urgent() == []
    BookingDraft.objects.update(
        updated_at=BookingDraft.objects.get().updated_at - datetime.timedelta(minutes=31)
    )
    (unfinished,) = booking_drafts_escalate_urgent()
    assert (unfinished.is_unfinished, unfinished.is_urgent, unfinished.first_name) == (True, True, "Maria")
    render_pending()
    alert = OutboundEmail.objects.get(subject__contains=unfinished.reference)
    assert "An unfinished booking needs attention" in alert.body

    # The patient comes back and sends: the same request, now complete.
    page.get_by_role("button", name="Carry on with your request").click()
    where(page)
    go_on(page)
    visit(page)
    go_on(page)
    send(page)
    page.wait_for_url(RECEIVED)
    completed = ConsultationRequest.objects.get()
    assert completed.pk == unfinished.pk and not completed.is_unfinished


@pytest.mark.parametrize(
    ("section", "heading", "number"),
    [
        ("contact", "Your contact details", 1),
        ("safety", "Your safety", 2),
        ("eligibility", "Where you will be, and your age", 3),
        ("visit", "Your consultation", 4),
        ("check", "Check your answers", 5),
    ],
)
def test_each_step_with_its_errors_is_accessible_and_fits_the_screen(
    page, live_server, assert_accessible, section, heading, number
):
    start(page, live_server)
    answer_earlier = [(contact, "contact"), (lambda p: safety(p, "No"), "safety"), (where, "eligibility")]
    answer_earlier.append((visit, "visit"))
    for answer, earlier in answer_earlier:
        if earlier == section:
            break
        answer(page)
        go_on(page)
    if section == "check":
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        page.get_by_role("button", name="Send my request").click()
    else:
        step_heading(page, heading, number)
        go_on(page)
    # Nothing answered: every error of the step shown, on the same step.
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    shot(page, f"errors-{section}")
    assert_accessible(page)


def test_every_control_and_button_has_the_links_focus_ring(phone_page, live_server):
    page = phone_page
    start(page, live_server)
    ring = (
        "el => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }"
    )
    page.keyboard.press("Tab")
    link_ring = None
    for selector in ["#id_first_name", "#id_contact_method_0", "#id_consent_privacy", "button[type=submit]"]:
        tab_to(page, selector)
        style = page.locator(selector).evaluate(ring)
        assert style[0] == "solid" and style[1] == "3px", (selector, style)
        link_ring = link_ring or style[2]
        assert style[2] == link_ring, (selector, style)
    tab_to(page, ".booking__back", backwards=True)
    assert page.locator(".booking__back").evaluate(ring) == ["solid", "3px", link_ring]


def tab_to(page, selector, limit=250, backwards=False):
    """Press Tab until the element matching ``selector`` has focus, as a keyboard user would."""
    target = page.locator(selector)
    for _ in range(limit):
        if target.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"Tab never reached {selector}")


def test_the_booking_can_be_done_by_keyboard_alone(phone_page, live_server):
    page = phone_page
    page.goto(live_server.url + "/consultation/")
    keys = page.keyboard

    def type_into(field_id, text):
        tab_to(page, f"#{field_id}")
        keys.type(text)

    def radio(name, downs=0):
        tab_to(page, f"#id_{name}_0")
        for _ in range(downs):
            keys.press("ArrowDown")
        keys.press("Space")

    def tick(field_id):
        tab_to(page, f"#{field_id}")
        keys.press("Space")

    def submit():
        tab_to(page, "button[type=submit]")
        keys.press("Enter")

    tab_to(page, "a.btn-primary")
    keys.press("Enter")
    step_heading(page, "Your contact details", 1)
    type_into("id_first_name", "Maria")
    type_into("id_last_name", "Okonkwo")
    type_into("id_email", "maria@example.com")
    type_into("id_phone", "2125550199")
    radio("contact_method", downs=1)  # Text message
    tick("id_consent_privacy")
    tick("id_consent_contact")
    submit()
    step_heading(page, "Your safety", 2)
    radio("self_harm_thoughts")  # No
    submit()
    step_heading(page, "Where you will be, and your age", 3)
    type_into("id_state", "New York")
    radio("is_adult", downs=1)  # Yes
    submit()
    step_heading(page, "Your consultation", 4)
    radio("modality", downs=1)  # Telehealth
    submit()
    expect(page.get_by_role("heading", name="Check your answers", level=1)).to_be_visible()
    tick("id_consent_not_emergency")
    submit()

    expect(page.locator(".reference-box__value")).to_have_text(REFERENCE)
    consultation_request = ConsultationRequest.objects.get()
    assert (consultation_request.contact_method, consultation_request.text_ok) == ("text", True)
    assert (consultation_request.state, consultation_request.is_adult) == ("NY", True)
    assert consultation_request.modality == "telehealth"


def test_the_booking_works_without_javascript_and_within_the_csp(browser, live_server):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    start(page, live_server)
    contact(page)
    go_on(page)
    safety(page, "No")
    go_on(page)
    where(page)
    go_on(page)
    visit(page)
    go_on(page)
    send(page)
    expect(page.locator(".reference-box__value")).to_have_text(REFERENCE)
    assert violations == []
    context.close()


def test_the_patient_cancels_from_the_status_link(page, live_server, assert_accessible):
    start(page, live_server)
    contact(page)
    go_on(page)
    safety(page, "No")
    go_on(page)
    where(page)
    go_on(page)
    visit(page)
    go_on(page)
    send(page)
    page.wait_for_url(RECEIVED)
    consultation_request = ConsultationRequest.objects.get()

    page.goto(live_server.url + consultation_request.get_status_url())
    expect(page.get_by_text(consultation_request.reference)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Cancel my request").click()
    expect(page.get_by_text("Cancelled by you")).to_be_visible()
    consultation_request.refresh_from_db()
    assert consultation_request.status == ConsultationRequest.Status.CANCELLED_BY_PATIENT


def test_the_figures_of_the_booking_on_a_phone(phone_page, live_server, capsys):
    """Pages' heights at 390 px and the answers needed, written out for the issue's figures."""
    page = phone_page
    heights = {}

    def measure(name):
        heights[name] = (
            page.evaluate("document.documentElement.scrollHeight"),
            round(page.locator("main").bounding_box()["height"]),
        )

    start(page, live_server)
    measure("you")
    contact(page)
    go_on(page)
    measure("safety")
    safety(page, "Yes")
    go_on(page)
    # From the harm answer to crisis help: the very next page, no answer in between.
    expect(page.get_by_role("heading", name=CRISIS_HEADING, level=1)).to_be_visible()
    measure("help")
    page.get_by_role("button", name="Carry on with your request").click()
    measure("where")
    where(page)
    go_on(page)
    measure("visit")
    visit(page)
    go_on(page)
    measure("check")
    send(page)
    page.wait_for_url(RECEIVED)
    with capsys.disabled():
        print("\npage height at 390 px (whole page, main):", heights)
    # The first step asks the most; every page is a fraction of the single page's 11,284 px.
    question_steps = ["you", "safety", "where", "visit"]
    assert max(question_steps, key=lambda name: heights[name][0]) == "you"
    assert max(height for height, _main in heights.values()) < 3200
