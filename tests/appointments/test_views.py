"""The patient's pages: the form, its confirmation, safety routing, abuse and accidents."""

import datetime
import re

import pytest
from django.core import signing
from django.urls import reverse

from appointments.models import BookingDraft, ConsultationRequest, OutboundEmail
from tests.booking import step_data, walk
from tests.factories import booking_answers, intake_answers, phq9
from tests.intake import answer_intake
from tests.outbox import render_pending

from .conftest import FORM_URL, reference_in

pytestmark = pytest.mark.django_db

CRISIS_LINKS = ['href="tel:988"', 'href="sms:988"', 'href="sms:741741"', 'href="tel:911"']


def main_content(response):
    html = response.content.decode()
    return html[html.index('<main id="main"') : html.index("</main>")]


def test_each_step_asks_its_own_questions_under_its_own_heading(client):
    expected = [
        ("/consultation/you/", "Your contact details", "Step 1 of 5", "/consultation/"),
        ("/consultation/safety/", "Your safety", "Step 2 of 5", "/consultation/you/"),
        ("/consultation/where/", "Where you will be, and your age", "Step 3 of 5", "/consultation/safety/"),
        ("/consultation/visit/", "Your consultation", "Step 4 of 5", "/consultation/where/"),
    ]
    data = booking_answers()
    for url, heading, progress, back in expected:
        response = client.get(url)
        assert response.status_code == 200, url
        html = main_content(response)
        assert re.findall(r'<legend class="form-section__legend"><h1>(.*?)</h1></legend>', html) == [heading]
        assert f'<p class="booking__progress">{progress}</p>' in html
        assert f'<a class="booking__back" href="{back}">Back</a>' in html
        assert 'method="post"' in html and "csrfmiddlewaretoken" in html
        assert "no-store" in response["Cache-Control"]
        section = url.strip("/").split("/")[-1]
        step = {"you": "contact", "safety": "safety", "where": "eligibility", "visit": "visit"}[section]
        client.post(url, step_data(step, data))
    html = main_content(client.get("/consultation/check/"))
    assert "<h1>Check your answers</h1>" in html and "Step 5 of 5" in html
    assert re.search(r'name="form_token" value="[A-Za-z0-9_-]{40,}"', html)


def test_the_first_step_asks_contact_details_and_both_consents_before_any_health_question(client):
    html = main_content(client.get("/consultation/you/"))
    assert 'href="/privacy/" target="_blank"' in html
    for token in ['autocomplete="given-name"', 'autocomplete="family-name"', 'autocomplete="email"',
                  'autocomplete="tel"']:  # fmt: skip
        assert token in html
    assert 'name="consent_privacy"' in html and 'name="consent_contact"' in html
    assert "may call me about an unfinished request if my answers show I may be at risk" in html
    # One set of contact preferences: choosing text messages is the permission to text.
    assert 'name="text_ok"' not in html
    assert "self_harm" not in html and "PHQ" not in html


def test_honeypot_is_hidden_from_people_and_assistive_technology(client):
    walk(client, booking_answers(), stop_after="visit")
    html = client.get("/consultation/check/").content.decode()
    block = html[html.index('class="form-honeypot"') - 5 :][:400]
    assert 'aria-hidden="true"' in block
    assert 'tabindex="-1"' in block
    assert 'autocomplete="off"' in block
    assert "style=" not in html and "<script" not in html


def test_article_the_patient_came_from_is_kept(client, submit):
    html = client.get(FORM_URL + "?from=ketamine-for-bipolar-disorder").content.decode()
    assert 'href="/consultation/you/?from=ketamine-for-bipolar-disorder"' in html
    submit(booking_answers(source_article="ketamine-for-bipolar-disorder"))
    assert ConsultationRequest.objects.get().source_article_slug == "ketamine-for-bipolar-disorder"


@pytest.mark.parametrize(
    "value", ["../../etc/passwd", "<script>", "a" * 201, "slug with spaces", "ketamine\n", "ketamine\r\n"]
)
def test_a_bad_article_slug_is_dropped_not_stored_nor_echoed(client, submit, value):
    html = client.get(FORM_URL, {"from": value}).content.decode()
    assert 'href="/consultation/you/"' in html
    assert value not in html
    submit(booking_answers(source_article=value))
    assert ConsultationRequest.objects.get().source_article_slug == ""


def test_a_valid_request_is_saved_and_leads_to_its_confirmation(submit):
    response = submit()
    consultation_request = ConsultationRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/consultation/received/{consultation_request.confirmation_token}/"
    assert consultation_request.status == ConsultationRequest.Status.NEW
    assert consultation_request.is_urgent is False
    assert consultation_request.phone == "+12125550199"
    assert consultation_request.contact_times == ["morning", "evening"]
    assert (consultation_request.voicemail_ok, consultation_request.text_ok) == (True, False)
    assert (consultation_request.state, consultation_request.is_adult) == ("NY", True)
    assert consultation_request.concern_other == "Zebrafinch-concern-marker"
    # Nothing of the intake is asked while booking.
    assert consultation_request.current_medications == ""
    assert consultation_request.flags == []
    assert BookingDraft.objects.count() == 0
    assert re.fullmatch(r"KC-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", consultation_request.reference)


def test_confirmation_shows_reference_and_next_steps_but_no_health_detail(client, submit):
    submit(booking_answers())
    consultation_request = ConsultationRequest.objects.get()
    # The intake answered since, severe scores and a medicine among the answers.
    answer_intake(client, consultation_request, intake_answers(**phq9(3, 3, 3, 3, 3, 3, 3, 3, 0)))
    assert ConsultationRequest.objects.get().phq9_score == 24
    response = client.get(consultation_request.get_absolute_url())
    assert response.status_code == 200
    html = main_content(response)
    assert consultation_request.reference in html
    assert "What happens next" in html
    assert "(555) 010-0100" in html
    for leaked in ["Maria", "Okonkwo", "maria@example.com", "Lamotrigine", "PHQ", "severe", "blood pressure"]:
        assert leaked not in html
    assert "Help is available right now" not in html
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_confirmation_url_is_unguessable(client, submit):
    submit()
    consultation_request = ConsultationRequest.objects.get()
    assert len(consultation_request.confirmation_token) >= 40
    assert client.get(f"/consultation/received/{consultation_request.reference}/").status_code == 404
    assert client.get(f"/consultation/received/{consultation_request.pk}/").status_code == 404


# PHQ-9 item 9 is asked in the intake, after booking: tests/appointments/test_intake.py.
def test_a_yes_to_the_safety_question_makes_the_request_urgent_and_leads_with_crisis_help(client, submit):
    response = submit(booking_answers(self_harm_thoughts="yes"), follow=True)
    consultation_request = ConsultationRequest.objects.get()
    assert consultation_request.is_urgent is True
    assert "self_harm" in consultation_request.flags
    html = main_content(response)
    crisis = html.index("Help is available right now")
    assert crisis < html.index(consultation_request.reference)
    assert crisis < html.index("What happens next")
    assert re.search(r"<h1[^>]*>Help is available right now</h1>", html)
    for link in CRISIS_LINKS:
        assert crisis < html.index(link)
    assert "Text HOME to 741741" in html
    # Never a verdict about the patient's fitness for treatment.
    for verdict in ["eligible", "not suitable", "suitable for", "urgent", "risk"]:
        assert verdict not in html.lower()


def test_a_yes_to_the_safety_question_shows_crisis_help_on_the_very_next_page(client):
    walk(client, booking_answers(), stop_after="contact")
    response = client.post("/consultation/safety/", {"self_harm_thoughts": "yes"})
    # No further answer between the harm question and crisis help.
    assert response.status_code == 302 and response["Location"] == "/consultation/help/"
    page = client.get(response["Location"])
    html = main_content(page)
    assert re.search(r"<h1[^>]*>Help is available right now</h1>", html)
    for link in CRISIS_LINKS:
        assert link in html
    assert "Text HOME to 741741" in html
    assert "llame al 988 y marque 2" in html
    assert "you don’t have to wait for us" in html
    assert (
        '<a class="btn btn-primary btn-lg" href="/consultation/where/" role="button">Carry on with your request</a>'
        in html
    )
    assert "no-store" in page["Cache-Control"]
    assert ConsultationRequest.objects.count() == 0


def test_honeypot_filled_in_saves_nothing_sends_nothing_and_looks_like_success(submit):
    response = submit(booking_answers(website="http://spam.example"))
    assert response.status_code == 200
    html = main_content(response)
    assert "Thank you" in html
    assert "(555) 010-0100" in html
    assert reference_in(html) is None
    assert "problem" not in html
    assert ConsultationRequest.objects.count() == 0
    assert OutboundEmail.objects.count() == 0


def test_the_same_form_sent_twice_makes_one_request(submit):
    data = booking_answers()
    first = submit(data)
    second = submit(data)
    assert ConsultationRequest.objects.count() == 1
    assert first["Location"] == second["Location"] == ConsultationRequest.objects.get().get_absolute_url()
    assert OutboundEmail.objects.count() == 2


def test_a_resubmit_with_changed_answers_is_a_request_of_its_own(submit):
    # Only the very same submission is a duplicate: changed answers (the same one-time token, the
    # same browser) are never dropped.
    data = booking_answers()
    submit(data)
    response = submit({**data, "first_name": "Mara"})
    assert response.status_code == 302
    assert sorted(ConsultationRequest.objects.values_list("first_name", flat=True)) == ["Mara", "Maria"]


def test_a_fresh_form_makes_a_second_request(submit):
    submit(booking_answers())
    submit(booking_answers())
    assert ConsultationRequest.objects.count() == 2
    assert len(set(ConsultationRequest.objects.values_list("reference", flat=True))) == 2


def test_a_mangled_form_token_still_saves_the_request(submit):
    assert submit(booking_answers(form_token="<not a token>")).status_code == 302
    assert ConsultationRequest.objects.count() == 1


def test_rate_limit_answers_429_with_the_phone_number_and_counts_in_the_shared_cache(submit, settings):
    settings.CONSULTATION_RATE_LIMIT = "2/10m"
    assert submit(booking_answers()).status_code == 302
    assert submit(booking_answers()).status_code == 302
    response = submit(booking_answers())
    assert response.status_code == 429
    html = response.content.decode()
    assert "Please try again a little later" in html
    assert 'href="tel:+15550100100"' in html
    assert response["Retry-After"] == "600"
    assert ConsultationRequest.objects.count() == 2
    # A different client is not affected.
    assert submit(booking_answers(), REMOTE_ADDR="203.0.113.9").status_code == 302


def test_rate_limit_counters_live_in_redis_keyed_by_a_hash_not_the_address(submit, settings):
    from django.core.cache import cache

    settings.CONSULTATION_RATE_LIMIT = "1/10m"
    submit(booking_answers())
    # This run's keys only: other test processes share the Redis database.
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = [key.decode() for key in cache._cache.get_client().keys(f"{prefix}:*")]
    assert keys, "no rate-limit counter in Redis"
    assert not any("127.0.0.1" in key for key in keys)


def test_attempts_with_errors_are_limited_too(submit, settings):
    settings.CONSULTATION_ATTEMPT_RATE_LIMIT = "3/10m"
    for _ in range(3):
        assert submit(booking_answers(email="broken")).status_code == 200
    assert submit(booking_answers(email="broken")).status_code == 429


def test_resending_a_used_form_is_not_refused_by_the_rate_limit(submit, settings):
    settings.CONSULTATION_RATE_LIMIT = "1/10m"
    data = booking_answers()
    submit(data)
    assert submit(data).status_code == 302


def test_csrf_is_enforced(client):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = walk(strict, booking_answers())
    assert response.status_code == 403
    assert ConsultationRequest.objects.count() == 0


def test_no_ip_address_is_stored(submit):
    submit(booking_answers(), REMOTE_ADDR="198.51.100.77")
    row = ConsultationRequest.objects.values().get()
    assert not any("198.51.100.77" in str(value) for value in row.values())


# The status page behind the signed link


def make_request(submit, **overrides):
    submit(booking_answers(**overrides))
    return ConsultationRequest.objects.get()


def test_status_page_shows_reference_and_plain_status_and_cancels(
    client, submit, django_capture_on_commit_callbacks
):
    consultation_request = make_request(submit)
    answer_intake(client, consultation_request, intake_answers())
    url = consultation_request.get_status_url()
    response = client.get(url)
    assert response.status_code == 200
    html = main_content(response)
    assert consultation_request.reference in html
    assert "Our front desk will contact you within one working day" in html
    assert "Maria" not in html and "Lamotrigine" not in html
    assert "Cancel my request" in html

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 302 and response["Location"] == url
    consultation_request.refresh_from_db()
    assert consultation_request.status == ConsultationRequest.Status.CANCELLED_BY_PATIENT
    html = main_content(client.get(url))
    assert "Cancelled by you" in html
    assert "Cancel my request" not in html
    render_pending()
    staff_notice = OutboundEmail.objects.get(dedupe_key__endswith="cancelled-by-patient")
    assert consultation_request.reference in staff_notice.body


def test_status_page_cancel_needs_csrf(submit):
    from django.test import Client

    consultation_request = make_request(submit)
    response = Client(enforce_csrf_checks=True).post(consultation_request.get_status_url())
    assert response.status_code == 403
    consultation_request.refresh_from_db()
    assert consultation_request.status == ConsultationRequest.Status.NEW


def test_a_completed_request_cannot_be_cancelled_online(client, submit):
    consultation_request = make_request(submit)
    ConsultationRequest.objects.update(status=ConsultationRequest.Status.COMPLETED)
    url = consultation_request.get_status_url()
    assert "Cancel my request" not in client.get(url).content.decode()
    html = client.post(url).content.decode()
    assert "can no longer be cancelled online" in html
    consultation_request.refresh_from_db()
    assert consultation_request.status == ConsultationRequest.Status.COMPLETED


def test_a_forged_status_link_is_404(client, submit):
    consultation_request = make_request(submit)
    assert client.get(f"/consultation/status/{consultation_request.confirmation_token}/").status_code == 404
    forged = consultation_request.get_status_url().rstrip("/") + "x/"
    assert client.get(forged).status_code == 404


def test_an_expired_status_link_explains_and_gives_the_phone_number(client, submit, settings):
    consultation_request = make_request(submit)
    url = consultation_request.get_status_url()
    settings.CONSULTATION_STATUS_LINK_MAX_AGE = -1
    response = client.get(url)
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    assert 'href="tel:+15550100100"' in response.content.decode()


def test_status_link_is_signed_and_reveals_no_other_secret(submit):
    consultation_request = make_request(submit)
    signed = consultation_request.get_status_url().split("/")[-2]
    value = signing.TimestampSigner(salt="appointments.consultation-request.status-link").unsign(signed)
    assert value.startswith(consultation_request.reference + ".")
    assert consultation_request.confirmation_token not in signed
    assert consultation_request.form_token not in signed
    assert (
        reverse("appointments:request_status", kwargs={"signed": signed})
        == consultation_request.get_status_url()
    )


def test_send_queues_the_mail_and_does_not_wait_for_it(client):
    response = walk(client, booking_answers())
    assert response.status_code == 302
    assert set(OutboundEmail.objects.values_list("template", "rendered_at")) == {
        ("patient_acknowledgement", None),
        ("staff_alert", None),
    }


def test_error_reports_would_not_show_the_browsers_cookies(rf):
    from clinic.redaction import ExceptionReporterFilter

    request = rf.get("/consultation/check/")
    request.COOKIES = {
        "consultation_sent": "tokens",
        "booking_draft": "draft",
        "sessionid": "s",
        "csrftoken": "t",
    }
    cookies = ExceptionReporterFilter().get_safe_cookies(request)
    assert cookies == dict.fromkeys(request.COOKIES, ExceptionReporterFilter.cleansed_substitute)


def test_error_reports_would_not_show_the_patients_answers(submit):
    from django.views.debug import SafeExceptionReporterFilter

    response = submit(booking_answers())
    request = response.wsgi_request
    assert request.sensitive_post_parameters == "__ALL__"
    cleansed = SafeExceptionReporterFilter().get_post_parameters(request)
    assert all(value == SafeExceptionReporterFilter.cleansed_substitute for value in cleansed.values())


def test_private_pages_tell_crawlers_noindex_and_robots_lets_them_read_it(client, submit):
    """A crawler never sees the noindex of a page robots.txt forbids, so none is forbidden."""
    consultation_request = make_request(submit)
    robots = client.get("/robots.txt").content.decode()
    for url in [consultation_request.get_absolute_url(), consultation_request.get_status_url()]:
        response = client.get(url)
        assert response.status_code == 200
        assert response["X-Robots-Tag"] == "noindex, nofollow"
        assert '<meta name="robots" content="noindex, nofollow">' in response.content.decode()
        assert not any(
            url.startswith(line.split(":", 1)[1].strip())
            for line in robots.splitlines()
            if line.startswith("Disallow")
        )


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Friday 18:00 in New York: Saturday morning.
        (
            datetime.datetime(2026, 12, 4, 23, 0, tzinfo=datetime.UTC),
            "We next open Saturday, December 5, 9:00 AM",
        ),
        # Saturday 14:00, Sunday closed: Monday.
        (
            datetime.datetime(2026, 12, 5, 19, 0, tzinfo=datetime.UTC),
            "We next open Monday, December 7, 9:00 AM",
        ),
        # Thanksgiving, Thursday and Friday closed: Saturday.
        (
            datetime.datetime(2026, 11, 26, 15, 0, tzinfo=datetime.UTC),
            "We next open Saturday, November 28, 9:00 AM",
        ),
        # Wednesday 10:00: open now.
        (datetime.datetime(2026, 12, 2, 15, 0, tzinfo=datetime.UTC), "We are open now."),
    ],
)
def test_confirmation_page_and_email_say_when_the_clinic_next_opens(
    client, submit, clinic_facts, time_machine, now, expected
):
    time_machine.move_to(now, tick=False)
    consultation_request = make_request(submit)
    html = main_content(client.get(consultation_request.get_absolute_url()))
    assert expected in html
    render_pending()
    email = OutboundEmail.objects.get(to="maria@example.com")
    assert expected.rstrip(".").replace("We are open now", "We are open now:") in email.body


def test_the_urgent_patients_page_and_email_lead_with_crisis_help(client, submit, clinic_facts):
    consultation_request = make_request(submit, self_harm_thoughts="yes")
    html = main_content(client.get(consultation_request.get_absolute_url()))
    assert html.index("Help is available right now") < html.index(consultation_request.reference)
    assert "as a priority" in html
    render_pending()
    body = OutboundEmail.objects.get(to="maria@example.com").body
    # Crisis help first, in words that say nothing of the patient's answers (lock screens show e-mails).
    assert body.startswith("Need to talk to someone now? You don't have to wait for us.")
    assert body.index("988") < body.index("Dear Maria")
    assert "In Spanish: call 988 and press 2." in body


def test_a_booking_needs_at_most_twelve_answers(client):
    from appointments.forms import STEP_FORMS, SendForm
    from appointments.views.booking import ANSWERS_NEEDED

    # Each control a patient who skips everything optional must set, counted from the forms.
    required = [
        name
        for form_class in [*STEP_FORMS.values(), SendForm]
        for name, field in form_class().fields.items()
        if field.required
    ]
    assert required == [
        "first_name",
        "last_name",
        "email",
        "phone",
        "contact_method",
        "consent_privacy",
        "consent_contact",
        "self_harm_thoughts",
        "state",
        "is_adult",
        "modality",
        "consent_not_emergency",
    ]
    assert ANSWERS_NEEDED == 12
    html = main_content(client.get(FORM_URL))
    assert (
        "About three minutes, in 5 short steps. 12 answers are required; everything else is optional." in html
    )


def test_a_blank_step_served_from_memory_is_the_step_rendered_afresh(client, settings):
    cached = client.get("/consultation/you/").content.decode()
    settings.DEBUG = True
    fresh = client.get("/consultation/you/").content.decode()

    def questions(html):
        return html[html.index('<fieldset class="form-section') : html.index('<div class="form-actions">')]

    assert questions(cached) == questions(fresh)
    assert questions(cached).count('class="form-check-input"') > 5
    # A step with answers is rendered with them, not from memory.
    settings.DEBUG = False
    walk(client, booking_answers(), stop_after="contact")
    assert 'value="Maria"' in client.get("/consultation/you/").content.decode()
