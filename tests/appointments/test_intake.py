"""The clinical intake's pages: reached by the signed link, a page at a time, every answer optional,
saved as each page is sent, crisis help straight after PHQ-9 item 9 above zero."""

import datetime
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from appointments.emails import outbound_email_send_due
from appointments.models import AuditEvent, ConsultationRequest, OutboundEmail
from appointments.models.requests import status_link_signer
from tests.booking import sent_from
from tests.factories import make_request
from tests.outbox import render_pending

pytestmark = pytest.mark.django_db

PAGES = ["about", "treatments", "health", "prescriber", "phq9", "mdq", "payment"]


@pytest.fixture
def consultation_request(clinic_facts):
    # Nothing answered yet on any page of the intake (the factory fills some of its columns).
    return make_request(
        first_name="Maria",
        email="maria@example.com",
        date_of_birth=None,
        episode="",
        antidepressant_trials="",
        treatment_preference="",
        payment="",
    )


def intake_url(consultation_request):
    """The request's intake link, signed once per test (a signature carries the second it was made)."""
    if not hasattr(consultation_request, "_intake_url"):
        consultation_request._intake_url = consultation_request.get_intake_url()
    return consultation_request._intake_url


def page_url(consultation_request, section):
    signed = intake_url(consultation_request).split("/")[-2]
    return reverse("appointments:intake_page", kwargs={"signed": signed, "section": section})


def intake_path(consultation_request, tail):
    return intake_url(consultation_request) + tail


def error_summary(html):
    match = re.search(r'<div class="error-summary".*?</div>', html, re.DOTALL)
    return match.group(0) if match else ""


def stored(consultation_request):
    return ConsultationRequest.objects.get(pk=consultation_request.pk)


# --- The link ------------------------------------------------------------------------------


def test_the_start_page_says_every_question_is_optional_and_links_to_page_one(client, consultation_request):
    response = client.get(intake_url(consultation_request))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Every question is optional" in html
    assert "There are 7 short pages" in html
    assert f'href="{page_url(consultation_request, "about")}"' in html
    assert "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert '<meta name="robots" content="noindex, nofollow">' in html


def test_a_forged_or_status_link_opens_nothing(client, consultation_request):
    status_signed = status_link_signer().sign(consultation_request.link_value)
    for signed in [status_signed, "KC-2222-2222.abc:1:xyz", "nonsense"]:
        assert client.get(reverse("appointments:intake_start", kwargs={"signed": signed})).status_code == 404
        url = reverse("appointments:intake_page", kwargs={"signed": signed, "section": "about"})
        assert client.post(url, {"episode": "stable"}).status_code == 404
    assert stored(consultation_request).episode == ""


def test_an_expired_link_says_so_and_saves_nothing(client, consultation_request, settings):
    url = page_url(consultation_request, "about")
    settings.CONSULTATION_INTAKE_LINK_MAX_AGE = -1
    response = client.post(url, {"episode": "stable"})
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    assert stored(consultation_request).episode == ""


def test_a_new_confirmation_token_voids_the_link(client, consultation_request):
    url = intake_url(consultation_request)
    ConsultationRequest.objects.filter(pk=consultation_request.pk).update(confirmation_token="x" * 43)
    assert client.get(url).status_code == 404


def test_an_unknown_page_is_not_found(client, consultation_request):
    assert client.get(intake_path(consultation_request, "contact/")).status_code == 404
    assert client.get(intake_path(consultation_request, "nothing/")).status_code == 404


# --- The pages -----------------------------------------------------------------------------


@pytest.mark.parametrize("section", PAGES)
def test_each_page_shows_its_progress_a_back_link_and_the_skip_line(client, consultation_request, section):
    response = client.get(page_url(consultation_request, section))
    html = response.content.decode()
    number = PAGES.index(section) + 1
    assert response.status_code == 200
    assert f"Page {number} of 7" in html
    back = (
        intake_url(consultation_request) if number == 1 else page_url(consultation_request, PAGES[number - 2])
    )
    assert f'<a class="back-link" href="{back}">Back</a>' in html
    assert "Skip anything you would rather not answer here" in html
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("section", PAGES)
def test_an_empty_page_is_fine_and_leads_to_the_next(client, consultation_request, section):
    response = client.post(page_url(consultation_request, section), {})
    number = PAGES.index(section) + 1
    expected = (
        intake_path(consultation_request, "done/")
        if number == 7
        else page_url(consultation_request, PAGES[number])
    )
    assert response.status_code == 302
    assert response["Location"] == expected
    assert stored(consultation_request).intake_started_at is not None


def test_each_page_saves_its_answers_and_shows_them_again(client, consultation_request):
    client.post(
        page_url(consultation_request, "about"),
        {
            "date_of_birth_month": "3",
            "date_of_birth_day": "27",
            "date_of_birth_year": "1985",
            "episode": "depressive",
            "diagnosis": "bipolar_2",
        },
    )
    client.post(page_url(consultation_request, "treatments"), {"treatments_tried": ["tried_ketamine"]})
    client.post(
        page_url(consultation_request, "health"),
        {
            "current_medications": "Lamictal 200 mg",
            "blood_pressure_systolic": "165",
            "blood_pressure_diastolic": "95",
        },
    )
    client.post(
        page_url(consultation_request, "prescriber"),
        {
            "prescriber_name": "Dr Ada Park",
            "prescriber_contact": "(212) 555-0100",
            "prescriber_contact_ok": "on",
        },
    )
    saved = stored(consultation_request)
    assert saved.date_of_birth == datetime.date(1985, 3, 27)
    assert saved.episode == "depressive"
    assert saved.diagnosis == "bipolar_2"
    assert saved.tried_ketamine is True
    assert saved.current_medications == "Lamictal 200 mg"
    assert (saved.blood_pressure_systolic, saved.blood_pressure_diastolic) == (165, 95)
    assert saved.prescriber_name == "Dr Ada Park"
    assert saved.prescriber_contact_ok is True
    assert saved.flags == ["blood_pressure_high", "lamotrigine"]
    assert saved.intake_completed_at is None

    html = client.get(page_url(consultation_request, "about")).content.decode()
    assert re.search(r'name="date_of_birth_month" value="3"', html)
    assert re.search(r'name="date_of_birth_year" value="1985"', html)
    assert re.search(r'value="bipolar_2"[^>]*checked', html)


def test_the_date_of_birth_boxes_are_labelled_for_autofill(client, consultation_request):
    html = client.get(page_url(consultation_request, "about")).content.decode()
    for index, (part, label) in enumerate([("month", "Month"), ("day", "Day"), ("year", "Year")]):
        tag = re.search(rf'<input[^>]*name="date_of_birth_{part}"[^>]*>', html).group(0)
        assert 'inputmode="numeric"' in tag
        assert f'autocomplete="bday-{part}"' in tag
        assert f'id="id_date_of_birth_{index}"' in tag
        assert f'<label class="date-input__label" for="id_date_of_birth_{index}">{label}</label>' in html
    assert "<legend" in html and "Date of birth (optional)" in html


def years_ago(years, days=0):
    today = timezone.localdate()
    return today.replace(year=today.year - years) + datetime.timedelta(days=days)


def dob(month, day, year):
    return {"date_of_birth_month": month, "date_of_birth_day": day, "date_of_birth_year": year}


@pytest.mark.parametrize(
    ("boxes", "message"),
    [
        (dob("", "27", "1985"), "Date of birth must include a month."),
        (dob("3", "", ""), "Date of birth must include a day and a year."),
        (dob("13", "27", "1985"), "Date of birth must be a real date"),
        (dob("2", "30", "1985"), "Date of birth must be a real date"),
        (dob("3", "x", "1985"), "Date of birth must be a real date"),
        (dob("3", "27", "85"), "Enter the year as 4 numbers, like 1985."),
        (dob("1", "1", "2999"), "Your date of birth must be in the past."),
        (dob("1", "1", "1890"), "Check the year of your date of birth."),
        (dob("3", "27", "١٩٨٥"), "Date of birth must be a real date"),
    ],
)
def test_a_wrong_date_of_birth_gets_one_clear_message_and_nothing_is_saved(
    client, consultation_request, boxes, message
):
    response = client.post(page_url(consultation_request, "about"), {**boxes, "episode": "stable"})
    html = response.content.decode()
    assert response.status_code == 200
    summary = error_summary(html)
    assert summary.count("<li>") == 1
    assert message in summary
    assert 'href="#id_date_of_birth_0"' in summary
    assert "<title>Error:" in html
    # The other answer is kept on the page, and nothing of the page is saved.
    assert re.search(r'value="stable"[^>]*checked', html)
    saved = stored(consultation_request)
    assert saved.episode == "" and saved.date_of_birth is None and saved.intake_started_at is None


def test_under_18_is_refused_with_the_way_to_reach_us(client, consultation_request):
    day = years_ago(18, days=1)
    response = client.post(
        page_url(consultation_request, "about"), dob(str(day.month), str(day.day), str(day.year))
    )
    assert "We can only accept online requests from adults aged 18 or over" in response.content.decode()
    assert stored(consultation_request).date_of_birth is None
    day = years_ago(18)
    response = client.post(
        page_url(consultation_request, "about"), dob(str(day.month), str(day.day), str(day.year))
    )
    assert response.status_code == 302
    assert stored(consultation_request).date_of_birth == day


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        ({"blood_pressure_systolic": "128"}, "blood_pressure_diastolic", "Enter the bottom number too"),
        ({"blood_pressure_diastolic": "82"}, "blood_pressure_systolic", "Enter the top number too"),
        ({"blood_pressure_systolic": "300", "blood_pressure_diastolic": "82"}, "blood_pressure_systolic",
         "Enter a number from 70 to 250"),
        ({"blood_pressure_systolic": "128", "blood_pressure_diastolic": "20"}, "blood_pressure_diastolic",
         "Enter a number from 40 to 150"),
        ({"blood_pressure_systolic": "128/82", "blood_pressure_diastolic": ""}, "blood_pressure_systolic",
         "Enter the number only"),
        ({"blood_pressure_systolic": "82", "blood_pressure_diastolic": "128"}, "blood_pressure_diastolic",
         "The bottom number is smaller than the top one"),
        ({"blood_pressure_systolic": "128", "blood_pressure_diastolic": "82", "blood_pressure_unknown": "on"},
         "blood_pressure_unknown", "not both"),
    ],
)  # fmt: skip
def test_a_blood_pressure_that_cannot_be_right_is_asked_again(
    client, consultation_request, answers, field, message
):
    response = client.post(
        page_url(consultation_request, "health"), {**answers, "current_medications": "sertraline"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert message in error_summary(html)
    assert f'href="#id_{field}"' in error_summary(html)
    assert "sertraline</textarea>" in html
    saved = stored(consultation_request)
    assert saved.current_medications == "" and saved.blood_pressure_systolic is None


def test_i_dont_know_my_blood_pressure_is_an_answer(client, consultation_request):
    assert (
        client.post(page_url(consultation_request, "health"), {"blood_pressure_unknown": "on"}).status_code
        == 302
    )
    saved = stored(consultation_request)
    assert saved.blood_pressure_unknown is True and saved.flags == []


# --- The PHQ-9 and crisis help ----------------------------------------------------------------


def phq9(**items):
    return {f"phq9_{n}": str(score) for n, score in items.items()}


def test_phq9_items_may_be_skipped_a_skipped_item_is_not_a_zero(client, consultation_request):
    response = client.post(
        page_url(consultation_request, "phq9"), {"phq9_1": "2", "phq9_2": "3", "phq9_5": "0"}
    )
    assert response.status_code == 302
    assert response["Location"] == page_url(consultation_request, "mdq")
    saved = stored(consultation_request)
    assert saved.phq9_answers == [2, 3, None, None, 0, None, None, None, None]
    assert saved.phq9_score is None
    assert saved.phq9_answered == 3
    assert saved.is_urgent is False


def test_all_nine_phq9_items_give_a_score(client, consultation_request):
    client.post(
        page_url(consultation_request, "phq9"), {f"phq9_{n}": "3" for n in range(1, 9)} | {"phq9_9": "0"}
    )
    saved = stored(consultation_request)
    assert saved.phq9_score == 24
    assert saved.flags == ["phq9_severe"]


def test_phq9_item_9_above_zero_shows_crisis_help_next_and_makes_the_request_urgent(
    client, consultation_request, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page_url(consultation_request, "phq9"), {"phq9_9": "1"})
    help_url = intake_path(consultation_request, "help-now/")
    assert response.status_code == 302
    assert response["Location"] == help_url

    saved = stored(consultation_request)
    assert saved.is_urgent is True
    assert saved.urgent_reasons() == ["PHQ-9 item 9 = 1"]
    assert saved.flags == ["self_harm"]
    assert saved.respond_by <= timezone.now() + datetime.timedelta(days=3)
    # The staff are alerted as for an urgent request: a reference and a link, no health detail.
    render_pending()
    (alert,) = OutboundEmail.objects.filter(dedupe_key__endswith=":now-urgent")
    assert alert.to == settings.CLINIC_STAFF_EMAIL
    assert alert.subject == f"Consultation request {saved.reference} needs attention soon"
    assert "URGENT" in alert.body
    assert "PHQ" not in alert.body and "harm" not in alert.body.lower()
    outbound_email_send_due()
    assert any(saved.reference in message.subject for message in mail.outbox)

    page = client.get(help_url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Help is available right now" in html
    assert 'href="tel:988"' in html and 'href="sms:741741"' in html and 'href="tel:911"' in html
    assert "you don’t have to wait for us" in html
    assert "llame al 988 y marque 2" in html
    assert f'href="{page_url(consultation_request, "mdq")}"' in html
    assert "no-store" in page["Cache-Control"]

    events = list(
        AuditEvent.objects.filter(consultation_request=saved).values_list("actor_label", "description")
    )
    assert ("patient", "Marked urgent by an answer in the clinical intake") in events
    assert ("patient", "Clinical intake: page 5 of 7 saved") in events


def test_an_answer_of_self_harm_changed_later_leaves_the_request_urgent_and_flagged(
    client, consultation_request
):
    client.post(page_url(consultation_request, "phq9"), {"phq9_9": "3"})
    response = client.post(page_url(consultation_request, "phq9"), {"phq9_9": "0"})
    assert response["Location"] == page_url(consultation_request, "mdq")
    saved = stored(consultation_request)
    assert (saved.is_urgent, saved.phq9_9, saved.flags) == (True, 0, ["self_harm"])


def test_item_9_at_zero_or_skipped_leads_on_to_the_mdq(client, consultation_request):
    response = client.post(page_url(consultation_request, "phq9"), {"phq9_9": "0"})
    assert response["Location"] == page_url(consultation_request, "mdq")
    assert stored(consultation_request).is_urgent is False
    assert not OutboundEmail.objects.filter(dedupe_key__endswith=":now-urgent").exists()


def test_an_urgent_request_is_alerted_once(client, consultation_request, django_capture_on_commit_callbacks):
    for _time in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(page_url(consultation_request, "phq9"), {"phq9_9": "2"})
    assert OutboundEmail.objects.filter(dedupe_key__endswith=":now-urgent").count() == 1


# --- The end ---------------------------------------------------------------------------------


def test_the_last_page_completes_the_intake_and_thanks_without_a_score(client, consultation_request):
    client.post(
        page_url(consultation_request, "phq9"), {f"phq9_{n}": "3" for n in range(1, 9)} | {"phq9_9": "0"}
    )
    client.post(page_url(consultation_request, "mdq"), {f"mdq_{n}": "yes" for n in range(1, 14)}
                | {"mdq_same_period": "yes", "mdq_problem": "serious"})  # fmt: skip
    response = client.post(page_url(consultation_request, "payment"), {"payment": "self_pay"}, follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == intake_path(consultation_request, "done/")
    assert "Thank you: your answers are saved" in html
    main = html.split('id="main"')[1].split("<footer")[0]
    for hidden in ["24 / 27", "Score", "severe", "MDQ", "positive", "flag"]:
        assert hidden not in main, hidden
    saved = stored(consultation_request)
    assert saved.intake_completed_at is not None
    assert saved.flags == ["phq9_severe", "mdq_positive"]
    assert saved.get_intake_state_display() == "Complete"


# --- Bad input: never a 500, nothing half-saved ------------------------------------------------

HOSTILE = ["\x00", "x" * 5000, "<script>alert(1)</script>", "9" * 5000, "-1", "1e3", "¹", "‮", "１９８５"]


@pytest.mark.parametrize("section", PAGES)
def test_no_posted_value_makes_a_500(client, consultation_request, section):
    from appointments.forms.intake import intake_form

    form_class = intake_form(section)
    names = [*form_class.base_fields, "date_of_birth_month", "date_of_birth_day", "date_of_birth_year"]
    for value in HOSTILE:
        data = dict.fromkeys(names, value)
        response = client.post(page_url(consultation_request, section), data)
        assert response.status_code in {200, 302}, (section, value)
        data = {name: [value, value] for name in names}
        assert client.post(page_url(consultation_request, section), data).status_code in {200, 302}


# --- Where the link is ----------------------------------------------------------------------


def test_the_acknowledgement_email_carries_a_working_intake_link_and_no_health_detail(
    client, consultation_request
):
    from appointments.services import consultation_request_emails_enqueue

    consultation_request_emails_enqueue(consultation_request_id=consultation_request.pk)
    render_pending()
    email = OutboundEmail.objects.get(
        dedupe_key=f"consultation-request:{consultation_request.pk}:acknowledgement"
    )
    link = re.search(r"http://127\.0\.0\.1:8000(/consultation/intake/\S+/)", email.body).group(1)
    assert "you can skip any of them" in email.body
    response = client.get(link)
    assert response.status_code == 200
    assert consultation_request.reference in response.content.decode()
    for health in ["PHQ", "MDQ", "blood pressure", "diagnosis"]:
        assert health not in email.subject + email.body


def test_the_status_page_links_to_the_intake_and_says_when_it_is_done(client, consultation_request):
    html = client.get(consultation_request.get_status_url()).content.decode()
    link = re.search(
        r'<a class="btn btn-primary" href="(/consultation/intake/[^"]+/)">Answer the questions</a>', html
    )
    assert link and client.get(link.group(1)).status_code == 200

    ConsultationRequest.objects.filter(pk=consultation_request.pk).update(intake_started_at=timezone.now())
    html = client.get(consultation_request.get_status_url()).content.decode()
    assert "Carry on with the questions</a>" in html

    ConsultationRequest.objects.filter(pk=consultation_request.pk).update(intake_completed_at=timezone.now())
    html = client.get(consultation_request.get_status_url()).content.decode()
    assert "Thank you for answering the questions before your consultation" in html
    assert "Look at or change your answers</a>" in html


def test_the_confirmation_page_links_to_the_intake(client, consultation_request):
    sent_from(client, consultation_request)
    html = client.get(consultation_request.get_absolute_url()).content.decode()
    link = re.search(r'href="(/consultation/intake/[^"]+/)">Answer the questions</a>', html)
    assert link and client.get(link.group(1)).status_code == 200


@pytest.mark.parametrize("status", ["declined", "cancelled_by_patient", "completed", "spam"])
def test_a_closed_requests_link_neither_shows_nor_changes_its_answers(client, consultation_request, status):
    ConsultationRequest.objects.filter(pk=consultation_request.pk).update(
        status=status, current_medications="lithium 300mg"
    )
    for url in [intake_url(consultation_request), page_url(consultation_request, "health")]:
        response = client.get(url)
        assert response.status_code == 410
        assert "lithium" not in response.content.decode()
        assert "These questions are closed" in response.content.decode()
    response = client.post(page_url(consultation_request, "phq9"), {"phq9_9": "3"})
    assert response.status_code == 410
    saved = stored(consultation_request)
    assert (saved.phq9_9, saved.is_urgent, saved.intake_started_at) == (None, False, None)
    assert not OutboundEmail.objects.filter(dedupe_key__endswith=":now-urgent").exists()
