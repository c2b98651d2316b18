"""Every question's bad answers: a specific message next to the field, the rest kept, nothing saved."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments import questionnaire
from appointments.models import ConsultationRequest, OutboundEmail
from tests.booking import walk
from tests.factories import booking_answers, make_request

pytestmark = pytest.mark.django_db


def years_ago(years, days=0):
    today = timezone.localdate()
    return (today.replace(year=today.year - years) + datetime.timedelta(days=days)).isoformat()


BAD_INPUT = [
    ("first_name", "", "Enter your first name."),
    ("first_name", "   ", "Enter your first name."),
    ("first_name", "x" * 101, "Shorten this to 100 characters or fewer (it has 101)."),
    (
        "first_name",
        "Buy pills at https://spam.example",
        "Enter your name without a phone number or web address.",
    ),
    ("first_name", "Ma\x00ria", "Remove the hidden control characters"),
    ("first_name", "Ma\x1bria", "Remove the hidden control characters"),
    ("first_name", "Maria\nBcc: someone", "Remove the hidden control characters"),
    ("first_name", "Maria\u202eatsoc", "Remove the invisible or direction-changing characters"),
    ("last_name", "\u200b", "Remove the invisible or direction-changing characters"),
    ("last_name", "Okon\u200bkwo", "Remove the invisible or direction-changing characters"),
    ("last_name", "Okonkwo\tLindqvist", "Remove the hidden control characters"),
    ("last_name", "", "Enter your last name."),
    ("last_name", "y" * 101, "Shorten this to 100 characters or fewer (it has 101)."),
    ("email", "", "Enter your e-mail address."),
    ("email", "maria@", "Enter an e-mail address in the right format, like name@example.com."),
    ("email", "maria example.com", "Enter an e-mail address in the right format, like name@example.com."),
    ("email", "a" * 250 + "@example.com", "Enter an e-mail address of 254 characters or fewer."),
    ("phone", "", "Enter a phone number we can reach you on."),
    ("phone", "12", "Enter a phone number we can call"),
    ("phone", "(555) 010-0100", "Enter a phone number we can call"),
    ("phone", "call me maybe", "Enter a phone number we can call"),
    ("phone", "1" * 33, "Shorten this to 32 characters or fewer (it has 33)."),
    ("contact_method", "", "Choose how you would like us to contact you."),
    ("contact_method", "pigeon", "Choose one of the options listed."),
    ("contact_times", ["morning", "midnight"], "Choose one of the options listed."),
    ("state", "", "Choose the state you will be in for the consultation."),
    ("state", "ZZ", "Choose one of the options listed."),
    ("concern", "insomnia", "Choose one of the options listed."),
    ("concern_other", "", "Tell us briefly what you would like help with."),
    ("concern_other", "z" * 201, "Shorten this to 200 characters or fewer (it has 201)."),
    ("self_harm_thoughts", "", "Answer this question, so that we know how to help you safely."),
    ("self_harm_thoughts", "maybe", "Choose one of the options listed."),
    ("modality", "", "Choose in person, telehealth, or either."),
    ("modality", "carrier-pigeon", "Choose one of the options listed."),
    ("consent_privacy", None, "Confirm that you have read the privacy notice."),
    ("consent_contact", None, "Confirm that we may contact you about your request."),
    ("consent_not_emergency", None, "Confirm that you understand this form is not for emergencies."),
    ("is_adult", "", "Answer yes or no: are you 18 or older?"),
    ("is_adult", "perhaps", "Choose one of the options listed."),
]
# Answers of the clinical intake that are wrong whatever else is given, asked on the intake's pages.
INTAKE_BAD_INPUT = [
    ("episode", "ecstatic", "Choose one of the options listed."),
    ("antidepressant_trials", "7", "Choose one of the options listed."),
    ("treatments_tried", ["tried_therapy", "tried_magic"], "Choose one of the options listed."),
    ("treatments_other", "t" * 1001, "Shorten this to 1000 characters or fewer (it has 1001)."),
    ("current_medications", "m" * 2001, "Shorten this to 2000 characters or fewer (it has 2001)."),
    ("current_medications", "lithium\x00", "Remove the hidden control characters"),
    ("current_medications", "lithium\x07 300mg", "Remove the hidden control characters"),
    ("medical_history", ["seizures", "gout"], "Choose one of the options listed."),
    ("medical_history_other", "h" * 1001, "Shorten this to 1000 characters or fewer (it has 1001)."),
    ("phq9_1", "4", "Choose one of the options listed."),
    ("phq9_9", "-1", "Choose one of the options listed."),
    ("treatment_preference", "pill", "Choose one of the options listed."),
    ("payment", "bitcoin", "Choose one of the options listed."),
    ("insurance_carrier", "i" * 101, "Shorten this to 100 characters or fewer (it has 101)."),
    ("heard_about", "billboard", "Choose one of the options listed."),
    ("heard_about_other", "o" * 201, "Shorten this to 200 characters or fewer (it has 201)."),
]


def input_tag(html, name, value=None):
    pattern = rf'<input[^>]*name="{name}"[^>]*>'
    tags = [tag for tag in re.findall(pattern, html) if value is None or f'value="{value}"' in tag]
    assert len(tags) == 1, (name, value, tags)
    return tags[0]


def field_error_block(html, name):
    """The error block crispy renders after the named field (its id is ``id_<name>_error``)."""
    start = html.find(f'id="id_{name}_error"')
    assert start != -1, f"no error block for {name}"
    return html[start : html.find("</div>", start)]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [pytest.param(*case, id=f"{case[0]}-{i}") for i, case in enumerate(BAD_INPUT)],
)
def test_bad_answer_gets_its_message_beside_the_field_and_nothing_is_saved(submit, field, value, message):
    data = booking_answers(**{field: value}) if value is not None else booking_answers(**{field: None})
    if value == "":
        data[field] = ""

    response = submit(data)

    assert response.status_code == 200
    html = response.content.decode()
    assert message in field_error_block(html, field)
    # The error summary at the top links to the field.
    summary = html[
        html.index('class="error-summary"') : html.index("</ul>", html.index('class="error-summary"'))
    ]
    assert message.split("(")[0].strip()[:30] in summary
    assert ConsultationRequest.objects.count() == 0
    assert OutboundEmail.objects.count() == 0


def test_a_failed_step_keeps_every_other_answer_of_the_step(submit):
    response = submit(booking_answers(email="not-an-address"))
    html = response.content.decode()
    assert 'value="Maria"' in html
    assert 'value="Okonkwo-Lindqvist"' in html
    assert 'value="(212) 555-0199"' in html
    for name, value in [("contact_method", "phone"), ("contact_times", "morning"), ("voicemail_ok", None)]:
        assert "checked" in input_tag(html, name, value)
    assert "checked" not in input_tag(html, "contact_times", "afternoon")
    assert 'value="not-an-address"' in html


def test_back_to_an_earlier_step_shows_its_saved_answers(client):
    walk(client, booking_answers(state="NY", modality="in_person"), stop_after="visit")
    html = client.get("/consultation/where/").content.decode()
    assert '<option value="NY" selected>' in html
    assert "checked" in input_tag(html, "is_adult", "yes")
    html = client.get("/consultation/visit/").content.decode()
    assert "checked" in input_tag(html, "modality", "in_person")
    assert "checked" in input_tag(html, "concern", "other")


def test_text_as_the_contact_method_is_the_permission_to_text(submit, client):
    assert 'name="text_ok"' not in client.get("/consultation/you/").content.decode()
    response = submit(booking_answers(contact_method="text", voicemail_ok=None))
    assert response.status_code == 302
    saved = ConsultationRequest.objects.get()
    assert (saved.contact_method, saved.text_ok, saved.voicemail_ok) == ("text", True, False)


def test_another_contact_method_does_not_allow_texts(submit):
    # The contact step does not ask it: a client that sends it anyway, with every step.
    data = {**booking_answers(contact_method="email"), "text_ok": "on"}
    assert submit(data, strict=False).status_code == 302
    assert ConsultationRequest.objects.get().text_ok is False


def test_under_18_cannot_go_on_and_is_given_the_phone_number(submit, client, clinic_facts):
    response = submit(booking_answers(is_adult="no"))
    assert response.status_code == 200
    html = response.content.decode()
    block = field_error_block(html, "is_adult")
    assert "We can only see people who are 18 or older." in block
    assert "(555) 010-0100" in block
    # The check page is not reachable: the patient is sent back to the step.
    assert client.get("/consultation/visit/")["Location"] == "/consultation/where/"
    assert ConsultationRequest.objects.count() == 0


def test_a_state_the_clinic_does_not_serve_cannot_go_on(submit, client, clinic_facts):
    response = submit(booking_answers(state="TX"))
    assert response.status_code == 200
    block = field_error_block(response.content.decode(), "state")
    assert (
        "We can only see patients who are in Connecticut, New Jersey, New York for the consultation." in block
    )
    assert "(555) 010-0100" in block
    assert client.get("/consultation/check/")["Location"] == "/consultation/where/"
    assert submit(booking_answers(state="NJ")).status_code == 302


def test_international_phone_numbers_are_accepted_and_stored_in_e164(submit):
    assert submit(booking_answers(phone="+44 20 7946 0958")).status_code == 302
    assert ConsultationRequest.objects.get().phone == "+442079460958"


def test_each_error_links_to_its_field_id(submit):
    html = submit(booking_answers(first_name="", contact_method="", contact_times=["never"])).content.decode()
    for anchor in ["id_first_name", "id_contact_method_0", "id_contact_times_0"]:
        assert f'href="#{anchor}"' in html
        assert f'id="{anchor}"' in html
    # Fields describe themselves by their error and help text for screen readers.
    assert 'aria-describedby="id_first_name_error"' in html
    assert 'aria-invalid="true"' in html
    assert "<title>Error: Your contact details – Step 1 of 5" in html


def intake_page(consultation_request, field):
    section = next(
        section
        for section in questionnaire.sections(stage=questionnaire.INTAKE)
        if field in {question.name for question in section.questions}
    )
    signed = consultation_request.get_intake_url().split("/")[-2]
    return reverse("appointments:intake_page", kwargs={"signed": signed, "section": section.id})


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [pytest.param(*case, id=f"{case[0]}-{i}") for i, case in enumerate(INTAKE_BAD_INPUT)],
)
def test_a_bad_intake_answer_gets_its_message_beside_the_field_and_nothing_is_saved(
    client, clinic_facts, field, value, message
):
    consultation_request = make_request(current_medications="", episode="")
    response = client.post(intake_page(consultation_request, field), {"episode": "stable", field: value})
    assert response.status_code == 200
    html = response.content.decode()
    assert message in field_error_block(html, field)
    saved = ConsultationRequest.objects.get(pk=consultation_request.pk)
    assert saved.intake_started_at is None
    assert saved.episode == ""


def test_line_breaks_and_tabs_survive_in_longer_intake_answers(client, clinic_facts):
    consultation_request = make_request(current_medications="")
    answer = "lithium 300mg\r\nquetiapine\t50mg"
    response = client.post(
        intake_page(consultation_request, "current_medications"), {"current_medications": answer}
    )
    assert response.status_code == 302
    assert ConsultationRequest.objects.get(pk=consultation_request.pk).current_medications == answer
