"""Every question's bad answers: a specific message next to the field, the rest kept, nothing saved."""

import datetime
import re

import pytest
from django.utils import timezone

from appointments.models import ConsultationRequest, OutboundEmail

from .conftest import answers, phq9

pytestmark = pytest.mark.django_db


def years_ago(years, days=0):
    today = timezone.localdate()
    return (today.replace(year=today.year - years) + datetime.timedelta(days=days)).isoformat()


BAD_INPUT = [
    ("first_name", "", "Enter your first name."),
    ("first_name", "   ", "Enter your first name."),
    ("first_name", "x" * 101, "Shorten this to 100 characters or fewer (it has 101)."),
    ("first_name", "Buy pills at https://spam.example", "Enter your name without a web address."),
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
    ("state", "", "Choose the state you live in."),
    ("state", "ZZ", "Choose one of the options listed."),
    ("concern", "", "Choose what you would most like help with."),
    ("concern", "insomnia", "Choose one of the options listed."),
    ("concern_other", "", "Tell us briefly what you would like help with."),
    ("concern_other", "z" * 201, "Shorten this to 200 characters or fewer (it has 201)."),
    ("episode", "", "Choose the answer that best describes your mood at the moment."),
    ("episode", "ecstatic", "Choose one of the options listed."),
    ("self_harm_thoughts", "", "Answer this question, so that we know how to help you safely."),
    ("self_harm_thoughts", "maybe", "Choose one of the options listed."),
    ("antidepressant_trials", "", "Choose how many antidepressants you have tried"),
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
    ("modality", "", "Choose in person, telehealth, or either."),
    ("modality", "carrier-pigeon", "Choose one of the options listed."),
    ("treatment_preference", "", "Choose a treatment, or “Undecided”."),
    ("treatment_preference", "pill", "Choose one of the options listed."),
    ("payment", "", "Choose how you expect to pay, or “I’m not sure yet”."),
    ("payment", "bitcoin", "Choose one of the options listed."),
    ("insurance_carrier", "", "Enter the name of your insurance carrier, or choose another way to pay."),
    ("insurance_carrier", "i" * 101, "Shorten this to 100 characters or fewer (it has 101)."),
    ("heard_about", "billboard", "Choose one of the options listed."),
    ("heard_about_other", "o" * 201, "Shorten this to 200 characters or fewer (it has 201)."),
    ("consent_privacy", None, "Confirm that you have read the privacy notice."),
    ("consent_contact", None, "Confirm that we may contact you about your request."),
    ("consent_not_emergency", None, "Confirm that you understand this form is not for emergencies."),
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
    ("field", "value", "message"), BAD_INPUT, ids=[f"{f}-{i}" for i, (f, *_) in enumerate(BAD_INPUT)]
)
def test_bad_answer_gets_its_message_beside_the_field_and_nothing_is_saved(submit, field, value, message):
    data = answers(**{field: value}) if value is not None else answers(**{field: None})
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


def test_a_failed_submit_keeps_every_other_answer(submit):
    response = submit(answers(email="not-an-address", **phq9(1, 2, 3, 0, 1, 2, 3, 0, 0)))
    html = response.content.decode()
    assert 'value="Maria"' in html
    assert 'value="Okonkwo-Lindqvist"' in html
    assert 'value="(212) 555-0199"' in html
    assert 'name="date_of_birth_year" value="1985"' in html
    assert '<option value="NY" selected>' in html
    assert "Lamotrigine-200mg-marker</textarea>" in html
    for name, value in [
        ("contact_method", "phone"),
        ("concern", "other"),
        ("phq9_3", "3"),
        ("payment", "insurance"),
        ("medical_history", "seizures"),
        ("voicemail_ok", None),
    ]:
        assert "checked" in input_tag(html, name, value)
    assert "checked" not in input_tag(html, "phq9_3", "2")
    assert 'value="not-an-address"' in html


def test_text_as_the_contact_method_needs_permission_to_text(submit):
    response = submit(answers(contact_method="text"))
    assert "tick this box so that we may text you" in field_error_block(response.content.decode(), "text_ok")
    assert ConsultationRequest.objects.count() == 0


def test_international_phone_numbers_are_accepted_and_stored_in_e164(submit):
    assert submit(answers(phone="+44 20 7946 0958")).status_code == 302
    assert ConsultationRequest.objects.get().phone == "+442079460958"


def test_line_breaks_and_tabs_survive_in_longer_answers(submit):
    assert submit(answers(current_medications="lithium 300mg\r\nquetiapine\t50mg")).status_code == 302
    assert ConsultationRequest.objects.get().current_medications == "lithium 300mg\r\nquetiapine\t50mg"


def test_each_error_links_to_its_field_id(submit):
    html = submit(answers(first_name="", contact_method="", contact_times=["never"])).content.decode()
    for anchor in ["id_first_name", "id_contact_method_0", "id_contact_times_0"]:
        assert f'href="#{anchor}"' in html
        assert f'id="{anchor}"' in html
    # Fields describe themselves by their error and help text for screen readers.
    assert 'aria-describedby="id_first_name_error"' in html
    assert 'aria-invalid="true"' in html
    assert "<title>Error: Request a consultation" in html
