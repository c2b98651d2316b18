"""A patient asks for a consultation in a real browser: by labels, with a mistake, by keyboard."""

import re

import pytest
from playwright.sync_api import expect

from appointments.models import ConsultationRequest, OutboundEmail

SELF_HARM_QUESTION = re.compile("thoughts of harming yourself")
REFERENCE = re.compile(r"KC-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}")


def fill_form(page, *, phone="(212) 555-0199", self_harm="No", phq9=None):
    page.get_by_label("First name").fill("Maria")
    page.get_by_label("Last name").fill("Okonkwo")
    page.get_by_label("E-mail address").fill("maria@example.com")
    page.get_by_label("Phone number").fill(phone)
    page.get_by_label("Phone call").check()
    page.get_by_label("Weekday mornings").check()
    date_of_birth = page.get_by_role("group", name="Date of birth")
    date_of_birth.get_by_label("Month").fill("3")
    date_of_birth.get_by_label("Day").fill("27")
    date_of_birth.get_by_label("Year").fill("1985")
    page.get_by_label("State you live in").select_option(label="New York")
    page.get_by_label("Bipolar depression").check()
    page.get_by_label("Depressed", exact=True).check()
    page.get_by_role("group", name=SELF_HARM_QUESTION).get_by_label(self_harm, exact=True).check()
    page.get_by_label("Three or more").check()
    page.get_by_label("Talking therapy").check()
    page.get_by_label("Which medicines do you take").fill("Lithium 600 mg")
    page.get_by_label("High blood pressure").check()
    for number, answer in enumerate(phq9 or [], start=1):
        page.get_by_role("group", name=re.compile(rf"^{number}\. ")).get_by_label(answer, exact=True).check()
    page.get_by_label("Telehealth (video call)").check()
    page.get_by_label("IV infusion").check()
    page.get_by_label("Self-pay").check()
    page.get_by_label("How did you hear about us?").select_option(label="An article on this website")
    page.get_by_label("I have read the privacy notice").check()
    page.get_by_label("The clinic may contact me").check()
    page.get_by_label("I understand this form is not for emergencies").check()


def send(page):
    page.get_by_role("button", name="Send my request").click()


def test_a_patient_corrects_a_mistake_and_reaches_the_confirmation(page, live_server, assert_accessible):
    page.goto(live_server.url + "/consultation/?from=ketamine-for-bipolar-disorder")
    expect(page.get_by_role("heading", name="Request a consultation", level=1)).to_be_visible()
    assert_accessible(page)

    fill_form(page, phone="12")
    send(page)

    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(page).to_have_title(re.compile("^Error: "))
    phone = page.get_by_label("Phone number")
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(phone).to_have_accessible_description(re.compile("Enter a phone number we can call"))
    # The other answers are still there.
    expect(page.get_by_label("First name")).to_have_value("Maria")
    expect(page.get_by_label("Talking therapy")).to_be_checked()
    expect(page.get_by_label("Which medicines do you take")).to_have_value("Lithium 600 mg")
    assert_accessible(page)

    summary.get_by_role("link", name=re.compile("Enter a phone number")).click()
    expect(phone).to_be_focused()
    phone.fill("(212) 555-0199")
    send(page)

    expect(page).to_have_url(re.compile(r"/consultation/received/[A-Za-z0-9_-]{40,}/$"))
    consultation_request = ConsultationRequest.objects.get()
    expect(page.get_by_role("heading", name="Your request has been received", level=1)).to_be_visible()
    expect(page.locator(".reference-box__value")).to_have_text(consultation_request.reference)
    expect(page.get_by_text("Help is available right now")).to_have_count(0)
    assert consultation_request.source_article_slug == "ketamine-for-bipolar-disorder"
    assert consultation_request.flags == ["cardiovascular"]
    assert OutboundEmail.objects.count() == 2
    assert_accessible(page)


def test_a_patient_in_crisis_sees_help_first(phone_page, live_server, assert_accessible):
    page = phone_page
    page.goto(live_server.url + "/consultation/")
    fill_form(page, self_harm="No", phq9=["Several days"] * 8 + ["More than half the days"])
    send(page)

    main = page.locator("main")
    first_heading = main.get_by_role("heading").first
    expect(first_heading).to_have_text("Help is available right now")
    expect(main.get_by_role("link", name="Call 988")).to_be_in_viewport()
    expect(main.get_by_role("link", name="Text HOME to 741741")).to_be_visible()
    expect(main.get_by_role("link", name="Call 911")).to_be_visible()
    assert ConsultationRequest.objects.get().is_urgent
    assert_accessible(page)


def test_the_patient_cancels_from_the_status_link(page, live_server, assert_accessible):
    page.goto(live_server.url + "/consultation/")
    fill_form(page)
    send(page)
    consultation_request = ConsultationRequest.objects.get()

    page.goto(live_server.url + consultation_request.get_status_url())
    expect(page.get_by_text(consultation_request.reference)).to_be_visible()
    expect(page.get_by_text("Our front desk will contact you within one working day")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Cancel my request").click()
    expect(page.get_by_text("Cancelled by you")).to_be_visible()
    consultation_request.refresh_from_db()
    assert consultation_request.status == ConsultationRequest.Status.CANCELLED_BY_PATIENT


@pytest.mark.parametrize("path", ["/consultation/"])
def test_the_form_fits_a_phone_without_sideways_scrolling(phone_page, live_server, path):
    phone_page.goto(live_server.url + path)
    assert phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    send(phone_page)
    assert phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_the_form_works_without_javascript_and_within_the_csp(browser, live_server):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(live_server.url + "/consultation/")
    fill_form(page)
    send(page)
    expect(page.locator(".reference-box__value")).to_have_text(REFERENCE)
    assert violations == []
    context.close()


def tab_to(page, selector, limit=250):
    """Press Tab until the element matching ``selector`` has focus, as a keyboard user would."""
    target = page.locator(selector)
    for _ in range(limit):
        if target.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def test_the_form_can_be_completed_by_keyboard_alone(phone_page, live_server):
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

    type_into("id_first_name", "Maria")
    type_into("id_last_name", "Okonkwo")
    type_into("id_email", "maria@example.com")
    type_into("id_phone", "2125550199")
    radio("contact_method", downs=2)  # E-mail
    type_into("id_date_of_birth_0", "3")
    type_into("id_date_of_birth_1", "27")
    type_into("id_date_of_birth_2", "1985")
    type_into("id_state", "New York")
    radio("concern", downs=1)  # Depression
    radio("episode")  # Depressed
    radio("self_harm_thoughts")  # No
    radio("antidepressant_trials", downs=2)  # Two
    radio("modality", downs=1)  # Telehealth
    radio("treatment_preference", downs=2)  # Undecided
    radio("payment", downs=1)  # Self-pay
    tick("id_consent_privacy")
    tick("id_consent_contact")
    tick("id_consent_not_emergency")
    tab_to(page, "button[type=submit]")
    keys.press("Enter")

    expect(page.locator(".reference-box__value")).to_have_text(REFERENCE)
    consultation_request = ConsultationRequest.objects.get()
    assert consultation_request.contact_method == "email"
    assert consultation_request.state == "NY"
    assert consultation_request.concern == "depression"
    assert consultation_request.antidepressant_trials == "2"
    assert consultation_request.treatment_preference == "undecided"
    assert str(consultation_request.date_of_birth) == "1985-03-27"
