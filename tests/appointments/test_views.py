"""The patient's pages: the form, its confirmation, safety routing, abuse and accidents."""

import re

import pytest
from django.core import signing
from django.urls import reverse

from appointments.models import ConsultationRequest, OutboundEmail
from tests.booking import walk

from .conftest import FORM_URL, answers, phq9, reference_in

pytestmark = pytest.mark.django_db

CRISIS_LINKS = ['href="tel:988"', 'href="sms:988"', 'href="sms:741741"', 'href="tel:911"']


def main_content(response):
    html = response.content.decode()
    return html[html.index('<main id="main"') : html.index("</main>")]


def test_form_page_groups_questions_in_fieldsets_with_legends(client):
    response = client.get(FORM_URL)
    assert response.status_code == 200
    html = response.content.decode()
    legends = re.findall(r'<legend class="form-section__legend"><h2>(.*?)</h2></legend>', html)
    assert legends == [
        "Your contact details",
        "About you",
        "What you would like help with",
        "Your safety",
        "Treatments you have tried",
        "Your medicines and health",
        "How you have been feeling (optional)",
        "Your preferences",
        "Payment, and how you found us",
        "Before you send your request",
    ]
    assert 'method="post"' in html and "csrfmiddlewaretoken" in html
    assert re.search(r'name="form_token" value="[A-Za-z0-9_-]{40,}"', html)
    # The nine standard PHQ-9 items, each with the four standard answers.
    assert "Little interest or pleasure in doing things" in html
    assert "Thoughts that you would be better off dead or of hurting yourself in some way" in html
    assert html.count(">\n            Nearly every day\n") + html.count("Nearly every day") >= 9
    assert 'href="/privacy/" target="_blank"' in html
    assert 'autocomplete="bday"' in html and 'type="date"' in html


def test_honeypot_is_hidden_from_people_and_assistive_technology(client):
    html = client.get(FORM_URL).content.decode()
    block = html[html.index('class="form-honeypot"') - 5 :][:400]
    assert 'aria-hidden="true"' in block
    assert 'tabindex="-1"' in block
    assert 'autocomplete="off"' in block
    assert "style=" not in html and "<script" not in html


def test_article_the_patient_came_from_is_kept(client, submit):
    html = client.get(FORM_URL + "?from=ketamine-for-bipolar-disorder").content.decode()
    assert 'name="source_article" value="ketamine-for-bipolar-disorder"' in html
    submit(answers(source_article="ketamine-for-bipolar-disorder"))
    assert ConsultationRequest.objects.get().source_article_slug == "ketamine-for-bipolar-disorder"


@pytest.mark.parametrize("value", ["../../etc/passwd", "<script>", "a" * 201, "slug with spaces"])
def test_a_bad_article_slug_is_dropped_not_stored_nor_echoed(client, submit, value):
    html = client.get(FORM_URL, {"from": value}).content.decode()
    assert 'name="source_article" id="id_source_article"' in html
    submit(answers(source_article=value))
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
    assert consultation_request.tried_therapy and not consultation_request.tried_ketamine
    assert consultation_request.high_blood_pressure and consultation_request.seizures
    # The medicines answer names lamotrigine, which blunts ketamine: a flag of its own.
    assert consultation_request.flags == ["cardiovascular", "seizures", "lamotrigine"]
    assert re.fullmatch(r"KC-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", consultation_request.reference)


def test_confirmation_shows_reference_and_next_steps_but_no_health_detail(client, submit):
    submit(answers(**phq9(3, 3, 3, 3, 3, 3, 3, 3, 0)))
    consultation_request = ConsultationRequest.objects.get()
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


@pytest.mark.parametrize(
    "trigger",
    [
        {"self_harm_thoughts": "yes"},
        {"self_harm_thoughts": "no", **phq9(0, 0, 0, 0, 0, 0, 0, 0, 1)},
    ],
    ids=["direct-question", "phq9-item-9"],
)
def test_self_harm_answers_make_the_request_urgent_and_lead_with_crisis_help(client, submit, trigger):
    response = submit(answers(**trigger), follow=True)
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


def test_phq9_item_9_at_zero_and_no_direct_answer_is_not_urgent(submit):
    submit(answers(**phq9(3, 3, 3, 3, 3, 3, 3, 3, 0)))
    consultation_request = ConsultationRequest.objects.get()
    assert consultation_request.is_urgent is False
    assert consultation_request.phq9_score == 24
    assert "phq9_severe" in consultation_request.flags


def test_a_form_with_errors_still_leads_with_crisis_help_when_self_harm_is_reported(submit):
    response = submit(answers(self_harm_thoughts="yes", email="broken"))
    html = main_content(response)
    assert html.index("Help is available right now") < html.index("There is a problem")
    assert ConsultationRequest.objects.count() == 0


def test_honeypot_filled_in_saves_nothing_sends_nothing_and_looks_like_success(submit):
    response = submit(answers(website="http://spam.example"))
    assert response.status_code == 200
    html = main_content(response)
    assert "Thank you" in html
    assert "(555) 010-0100" in html
    assert reference_in(html) is None
    assert "problem" not in html
    assert ConsultationRequest.objects.count() == 0
    assert OutboundEmail.objects.count() == 0


def test_the_same_form_sent_twice_makes_one_request(submit):
    data = answers()
    first = submit(data)
    second = submit(data)
    assert ConsultationRequest.objects.count() == 1
    assert first["Location"] == second["Location"] == ConsultationRequest.objects.get().get_absolute_url()
    assert OutboundEmail.objects.count() == 2


def test_a_resubmit_with_changed_answers_is_a_request_of_its_own(submit):
    # Only the very same submission is a duplicate: changed answers are never dropped.
    data = answers()
    submit(data)
    response = submit({**data, "first_name": "Mara"})
    assert response.status_code == 302
    assert sorted(ConsultationRequest.objects.values_list("first_name", flat=True)) == ["Mara", "Maria"]


def test_a_fresh_form_makes_a_second_request(submit):
    submit(answers())
    submit(answers())
    assert ConsultationRequest.objects.count() == 2
    assert len(set(ConsultationRequest.objects.values_list("reference", flat=True))) == 2


def test_a_mangled_form_token_still_saves_the_request(submit):
    assert submit(answers(form_token="<not a token>")).status_code == 302
    assert ConsultationRequest.objects.count() == 1


def test_rate_limit_answers_429_with_the_phone_number_and_counts_in_the_shared_cache(submit, settings):
    settings.CONSULTATION_RATE_LIMIT = "2/10m"
    assert submit(answers()).status_code == 302
    assert submit(answers()).status_code == 302
    response = submit(answers())
    assert response.status_code == 429
    html = response.content.decode()
    assert "Please try again a little later" in html
    assert 'href="tel:+15550100100"' in html
    assert response["Retry-After"] == "600"
    assert ConsultationRequest.objects.count() == 2
    # A different client is not affected.
    assert submit(answers(), REMOTE_ADDR="203.0.113.9").status_code == 302


def test_rate_limit_counters_live_in_redis_keyed_by_a_hash_not_the_address(submit, settings):
    from django.core.cache import cache

    settings.CONSULTATION_RATE_LIMIT = "1/10m"
    submit(answers())
    keys = [key.decode() for key in cache._cache.get_client().keys("*")]
    assert keys, "no rate-limit counter in Redis"
    assert not any("127.0.0.1" in key for key in keys)


def test_attempts_with_errors_are_limited_too(submit, settings):
    settings.CONSULTATION_ATTEMPT_RATE_LIMIT = "3/10m"
    for _ in range(3):
        assert submit(answers(email="broken")).status_code == 200
    assert submit(answers(email="broken")).status_code == 429


def test_resending_a_used_form_is_not_refused_by_the_rate_limit(submit, settings):
    settings.CONSULTATION_RATE_LIMIT = "1/10m"
    data = answers()
    submit(data)
    assert submit(data).status_code == 302


def test_csrf_is_enforced(client):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = walk(strict, answers())
    assert response.status_code == 403
    assert ConsultationRequest.objects.count() == 0


def test_no_ip_address_is_stored(submit):
    submit(answers(), REMOTE_ADDR="198.51.100.77")
    row = ConsultationRequest.objects.values().get()
    assert not any("198.51.100.77" in str(value) for value in row.values())


# The status page behind the signed link


def make_request(submit, **overrides):
    submit(answers(**overrides))
    return ConsultationRequest.objects.get()


def test_status_page_shows_reference_and_plain_status_and_cancels(
    client, submit, django_capture_on_commit_callbacks
):
    consultation_request = make_request(submit)
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


def test_a_failure_to_queue_the_mail_does_not_fail_the_saved_request(submit, monkeypatch):
    from appointments.services import outbox

    def broken(**kwargs):
        raise RuntimeError("template missing")

    monkeypatch.setattr(outbox, "consultation_request_emails_enqueue", broken)
    response = submit(answers())
    assert response.status_code == 302
    assert ConsultationRequest.objects.count() == 1
    assert OutboundEmail.objects.count() == 0


def test_error_reports_would_not_show_the_patients_answers(submit):
    from django.views.debug import SafeExceptionReporterFilter

    response = submit(answers())
    request = response.wsgi_request
    assert request.sensitive_post_parameters == "__ALL__"
    cleansed = SafeExceptionReporterFilter().get_post_parameters(request)
    assert all(value == SafeExceptionReporterFilter.cleansed_substitute for value in cleansed.values())


def test_the_blank_form_served_from_memory_is_the_form_rendered_afresh(client, settings):
    cached = client.get(FORM_URL).content.decode()
    settings.DEBUG = True
    fresh = client.get(FORM_URL).content.decode()

    def questions(html):
        return html[html.index('<fieldset class="form-section') : html.index('<div class="form-actions">')]

    assert questions(cached) == questions(fresh)
    assert questions(cached).count("<fieldset") > 10


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


def test_confirmation_page_says_when_the_clinic_is_open(client, submit, clinic_facts):
    consultation_request = make_request(submit, self_harm_thoughts="yes")
    html = main_content(client.get(consultation_request.get_absolute_url()))
    assert "as a priority during our opening hours" in html
    assert "Open Monday to Friday 9:00 AM–5:00 PM; Saturday 9:00 AM–1:00 PM (New York time)." in html
