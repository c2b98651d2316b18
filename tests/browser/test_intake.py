"""The clinical intake in a real browser, on a phone and on a desktop: from the link in the
confirmation e-mail to the last page, through the crisis page, each page checked by axe."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from appointments.models import ConsultationRequest, OutboundEmail
from appointments.services import consultation_request_emails_enqueue
from tests.factories import make_request
from tests.outbox import render_pending

from .conftest import axe_violations

# Screenshots of every page when this is set (a folder), for people to look at.
SHOTS = os.environ.get("INTAKE_SCREENSHOTS")


@pytest.fixture
def emailed_request(transactional_db, clinic_facts):
    """A booked request and its acknowledgement e-mail, committed for the live server's thread."""
    consultation_request = make_request(
        first_name="Dana",
        email="dana@example.com",
        date_of_birth=None,
        episode="",
        antidepressant_trials="",
        treatment_preference="",
        payment="",
    )
    consultation_request_emails_enqueue(consultation_request_id=consultation_request.pk)
    return consultation_request


def intake_link_in_email(consultation_request, live_server):
    render_pending()
    email = OutboundEmail.objects.get(
        dedupe_key=f"consultation-request:{consultation_request.pk}:acknowledgement"
    )
    url = re.search(r"https?://\S+/consultation/intake/\S+/", email.body).group(0)
    return live_server.url + url[url.index("/consultation/") :]


def look(page, name, assert_accessible=True):
    """A screenshot of the whole page, and axe's verdict on it."""
    if SHOTS:
        width = page.viewport_size["width"]
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{width}-{name}.png", full_page=True)
    if assert_accessible:
        violations = axe_violations(page)
        assert violations == [], "\n".join(violations)


def carry_on(page, progress):
    expect(page.locator(".intake__progress")).to_have_text(progress)
    page.get_by_role("button", name=re.compile("Continue|Finish")).click()


def test_the_intake_from_the_email_link_through_crisis_help_to_the_end(page, live_server, emailed_request):
    page.goto(intake_link_in_email(emailed_request, live_server))
    expect(page.get_by_role("heading", name="Questions before your consultation", level=1)).to_be_visible()
    look(page, "0-start")
    page.get_by_role("link", name="Start").click()

    # Page 1: a date of birth that cannot be, then the right one.
    expect(page.get_by_role("heading", name="About you", level=1)).to_be_visible()
    expect(page.get_by_text("Page 1 of 7")).to_be_visible()
    dob = page.get_by_role("group", name="Date of birth (optional)")
    dob.get_by_label("Month").fill("2")
    dob.get_by_label("Day").fill("30")
    dob.get_by_label("Year").fill("1979")
    page.get_by_label("Bipolar II").check()
    page.get_by_role("button", name="Continue").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Date of birth must be a real date")
    expect(page.get_by_label("Bipolar II")).to_be_checked()
    look(page, "1-about-error")
    summary.get_by_role("link").click()
    expect(dob.get_by_label("Month")).to_be_focused()
    dob.get_by_label("Day").fill("28")
    look(page, "1-about")
    carry_on(page, "Page 1 of 7")

    expect(page.get_by_text("Page 2 of 7")).to_be_visible()
    look(page, "2-treatments")
    carry_on(page, "Page 2 of 7")  # skipped

    page.get_by_label("Which medicines do you take").fill("Lamictal 200 mg")
    page.get_by_label("the top number").fill("164")
    page.get_by_label("the bottom number").fill("98")
    look(page, "3-health")
    carry_on(page, "Page 3 of 7")

    page.get_by_label("Their name").fill("Dr Ada Park")
    page.get_by_label("The clinic may contact my prescriber").check()
    look(page, "4-prescriber")
    carry_on(page, "Page 4 of 7")

    # The PHQ-9, some items skipped, item 9 above zero: crisis help comes next.
    page.get_by_role("group", name=re.compile("1. Little interest")).get_by_label("Several days").check()
    page.get_by_role("group", name=re.compile("9. Thoughts that you would be better off dead")).get_by_label(
        "Several days"
    ).check()
    look(page, "5-phq9")
    carry_on(page, "Page 5 of 7")
    expect(page.get_by_role("heading", name="Help is available right now", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Call 988")).to_be_visible()
    expect(page.get_by_text("llame al 988 y marque 2")).to_be_visible()
    look(page, "5-help-now")
    assert ConsultationRequest.objects.get(pk=emailed_request.pk).is_urgent
    page.get_by_role("link", name="Carry on with the questions").click()

    expect(page.get_by_text("Page 6 of 7")).to_be_visible()
    for number in range(1, 9):
        page.locator(f'input[name="mdq_{number}"][value="yes"]').check()
    look(page, "6-mdq")
    carry_on(page, "Page 6 of 7")

    page.get_by_label("Self-pay").check()
    page.get_by_role("link", name="Back").click()
    expect(page.get_by_text("Page 6 of 7")).to_be_visible()
    expect(page.locator('input[name="mdq_1"][value="yes"]')).to_be_checked()
    carry_on(page, "Page 6 of 7")
    page.get_by_label("Self-pay").check()
    look(page, "7-payment")
    carry_on(page, "Page 7 of 7")

    expect(page.get_by_role("heading", name="Thank you: your answers are saved", level=1)).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("MDQ")
    look(page, "8-done")

    saved = ConsultationRequest.objects.get(pk=emailed_request.pk)
    assert str(saved.date_of_birth) == "1979-02-28"
    assert saved.diagnosis == "bipolar_2"
    assert (saved.blood_pressure_systolic, saved.blood_pressure_diastolic) == (164, 98)
    assert saved.prescriber_name == "Dr Ada Park" and saved.prescriber_contact_ok is True
    assert saved.phq9_answers == [1, None, None, None, None, None, None, None, 1]
    assert [saved.mdq_1, saved.mdq_9] == [True, None]
    assert saved.payment == "self_pay"
    assert saved.is_urgent is True
    assert saved.intake_completed_at is not None
    assert saved.flags == ["self_harm", "blood_pressure_high", "lamotrigine"]


def test_every_intake_page_with_its_errors_shown_passes_axe(page, live_server, emailed_request):
    from tests.appointments.test_intake_html import BAD

    start = intake_link_in_email(emailed_request, live_server)
    for section, bad in BAD.items():
        page.goto(f"{start}{section}/")
        # Values no control offers (a choice that is not listed): sent as the form's own fields.
        page.evaluate(
            """bad => { const form = document.querySelector('.intake-form');
                for (const [name, value] of Object.entries(bad)) {
                    form.querySelectorAll(`[name="${name}"]`).forEach(el => el.removeAttribute('name'));
                    const input = document.createElement('input');
                    input.type = 'hidden'; input.name = name; input.value = value; form.appendChild(input);
                } }""",
            bad,
        )
        page.get_by_role("button", name=re.compile("Continue|Finish")).click()
        expect(page.locator(".error-summary")).to_be_visible()
        look(page, f"errors-{section}")


def test_saved_answers_stay_hidden_until_the_date_of_birth(page, live_server, transactional_db, clinic_facts):
    """A saved page opened by the link alone: answered, nothing shown; a wrong date of birth says
    so; the right one shows the answers, and the read is in the audit trail."""
    import datetime

    from appointments.models import AuditEvent

    consultation_request = make_request(
        first_name="Dana",
        date_of_birth=datetime.date(1971, 8, 14),
        current_medications="Lamictal 200 mg",
        blood_pressure_systolic=164,
        blood_pressure_diastolic=98,
    )
    page.goto(live_server.url + consultation_request.get_intake_url() + "health/")
    expect(page.get_by_role("heading", name="You have answered this page", level=2)).to_be_visible()
    expect(page.get_by_label("Which medicines do you take")).to_have_value("")
    expect(page.locator("main")).not_to_contain_text("Lamictal")
    look(page, "hidden-health")

    dob = page.get_by_role("group", name="Your date of birth")
    dob.get_by_label("Month").fill("8")
    dob.get_by_label("Day").fill("15")
    dob.get_by_label("Year").fill("1971")
    page.get_by_role("button", name="Show my answers").click()
    summary = page.locator(".intake-saved .error-summary")
    expect(summary).to_contain_text("That is not the date of birth saved with your answers")
    expect(summary).to_be_focused()
    expect(page.get_by_label("Which medicines do you take")).to_have_value("")
    look(page, "hidden-health-wrong-date")
    summary.get_by_role("link").click()
    expect(dob.get_by_label("Month")).to_be_focused()

    dob.get_by_label("Month").fill("8")
    dob.get_by_label("Day").fill("14")
    dob.get_by_label("Year").fill("1971")
    page.get_by_role("button", name="Show my answers").click()
    expect(page.get_by_label("Which medicines do you take")).to_have_value("Lamictal 200 mg")
    expect(page.get_by_label("the top number")).to_have_value("164")
    expect(page.locator(".intake-saved")).to_have_count(0)
    look(page, "shown-health")
    assert AuditEvent.objects.filter(
        consultation_request=consultation_request,
        actor_label="patient via intake link",
        description__startswith="Clinical intake: page 3 of 7 shown with its saved answers",
    ).exists()


@pytest.fixture
def intake_done(transactional_db):
    from django.utils import timezone

    return make_request(
        first_name="Maria",
        last_name="Okonkwo",
        intake_started_at=timezone.now(),
        intake_completed_at=timezone.now(),
        diagnosis="bipolar_2",
        blood_pressure_systolic=166,
        blood_pressure_diastolic=101,
        prescriber_name="Dr Ada Park",
        **{f"mdq_{n}": n <= 9 for n in range(1, 14)},
        mdq_same_period=True,
        mdq_problem="moderate",
        **{f"phq9_{n}": 1 for n in range(1, 8)},
        flags=["blood_pressure_high", "mdq_positive"],
    )


@pytest.mark.parametrize("role", ["front_desk", "clinician"])
def test_staff_see_the_intake_state_and_clinicians_the_mdq(desktop_page, live_server, intake_done, role):
    from tests.browser.test_staff_roles import sign_in, staff_with_authenticator

    page = desktop_page
    sign_in(page, live_server, *staff_with_authenticator(role, f"{role}-1"))
    page.goto(live_server.url + "/admin/appointments/consultationrequest/")
    row = page.locator("#result_list tbody tr", has_text="Okonkwo")
    expect(row.locator(".intake-state--complete")).to_have_text("Complete")
    look(page, f"staff-list-{role}")
    row.get_by_role("link", name=intake_done.reference).click()
    expect(page.locator(".field-intake_state .intake-state--complete")).to_have_text("Complete")
    if role == "clinician":
        expect(page.locator(".field-mdq_summary")).to_contain_text("Positive screen · 9 of 13 yes")
        expect(page.locator(".field-phq9_summary")).to_contain_text("Incomplete: 7 of 9 answered")
        expect(page.locator(".field-blood_pressure")).to_contain_text("166/101 mmHg · 160/100 or above")
    else:
        expect(page.locator("main")).not_to_contain_text("MDQ")
        expect(page.locator("main")).not_to_contain_text("166/101")
    look(page, f"staff-request-{role}")


def test_the_intake_works_without_javascript(browser, live_server, emailed_request):
    from .conftest import PHONE

    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(intake_link_in_email(emailed_request, live_server) + "phq9/")
        page.get_by_role(
            "group", name=re.compile("9. Thoughts that you would be better off dead")
        ).get_by_label("Not at all").check()
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_text("Page 6 of 7")).to_be_visible()
    finally:
        context.close()
    assert ConsultationRequest.objects.get(pk=emailed_request.pk).phq9_9 == 0


def test_the_spanish_intake_from_the_email_link_through_crisis_help_to_the_end(
    page, live_server, transactional_db, clinic_facts
):
    consultation_request = make_request(
        first_name="María",
        email="maria@example.com",
        language="es",
        date_of_birth=None,
        episode="",
        antidepressant_trials="",
        treatment_preference="",
        payment="",
    )
    consultation_request_emails_enqueue(consultation_request_id=consultation_request.pk)
    render_pending()
    email = OutboundEmail.objects.get(
        dedupe_key=f"consultation-request:{consultation_request.pk}:acknowledgement"
    )
    url = re.search(r"https?://\S+/es/consultation/intake/\S+/", email.body).group(0)
    page.goto(live_server.url + url[url.index("/es/consultation/") :])

    expect(page.get_by_role("heading", name="Preguntas antes de su consulta", level=1)).to_be_visible()
    look(page, "es-0-start")
    page.get_by_role("link", name="Empezar").click()

    expect(page.get_by_role("heading", name="Sobre usted", level=1)).to_be_visible()
    dob = page.get_by_role("group", name="Fecha de nacimiento (opcional)")
    dob.get_by_label("Mes").fill("2")
    dob.get_by_label("Día").fill("30")
    dob.get_by_label("Año").fill("1979")
    page.get_by_role("button", name="Continuar").click()
    expect(page.locator(".error-summary")).to_contain_text(
        "Fecha de nacimiento: escriba una fecha real, como 3 27 1985 (mes, día, año)."
    )
    look(page, "es-1-about-error")
    dob.get_by_label("Día").fill("28")
    carry_on_in_spanish(page, "Página 1 de 7")
    look(page, "es-2-treatments")
    carry_on_in_spanish(page, "Página 2 de 7")
    look(page, "es-3-health")
    carry_on_in_spanish(page, "Página 3 de 7")
    look(page, "es-4-prescriber")
    carry_on_in_spanish(page, "Página 4 de 7")

    page.get_by_role("group", name=re.compile("9. Pensamientos de que estaría mejor muerto")).get_by_label(
        "Varios días"
    ).check()
    look(page, "es-5-phq9")
    carry_on_in_spanish(page, "Página 5 de 7")
    expect(page.get_by_role("heading", name="Hay ayuda disponible ahora mismo", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Llame al 988 y marque 2")).to_be_visible()
    expect(page.get_by_role("link", name="Envíe AYUDA al 988")).to_be_visible()
    look(page, "es-5-help-now")
    page.get_by_role("link", name="Seguir con las preguntas").click()

    look(page, "es-6-mdq")
    carry_on_in_spanish(page, "Página 6 de 7")
    page.get_by_label("Pago por cuenta propia").check()
    look(page, "es-7-payment")
    carry_on_in_spanish(page, "Página 7 de 7")

    expect(
        page.get_by_role("heading", name="Gracias: sus respuestas quedaron guardadas", level=1)
    ).to_be_visible()
    look(page, "es-8-done")
    saved = ConsultationRequest.objects.get(pk=consultation_request.pk)
    assert str(saved.date_of_birth) == "1979-02-28"
    assert saved.phq9_9 == 1 and saved.is_urgent is True
    assert saved.payment == "self_pay"


def carry_on_in_spanish(page, progress):
    expect(page.locator(".intake__progress")).to_have_text(progress)
    page.get_by_role("button", name=re.compile("Continuar|Terminar")).click()
