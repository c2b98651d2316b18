"""A request's page as each role needs it: the front desk's call first, the clinician's flags and
scores first, why an urgent request is urgent in words each may read, and the urgent protocol."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest

from appointments import services
from appointments.models import AuditEvent, CallAttempt, ClinicalDecision
from tests.appointments.conftest import admin_form_data, change_url
from tests.factories import make_request, make_staff

pytestmark = pytest.mark.django_db

CLINICIAN_REASONS = ["Answered yes to current thoughts of self-harm", "PHQ-9 item 9 = 2"]


def headings(html):
    return re.findall(r'<h2 id="[^"]+" class="fieldset-heading">(.*?)</h2>', html)


def urgent_request(**extra):
    return make_request(
        is_urgent=True,
        self_harm_thoughts=True,
        flags=["self_harm"],
        **{f"phq9_{n}": 1 for n in range(1, 9)},
        phq9_9=2,
        **extra,
    )


def test_the_front_desk_page_starts_with_the_call_and_the_actions(client, login_as):
    login_as("front_desk")
    consultation_request = make_request(phone="+12125550199", voicemail_ok=True, contact_times=["evening"])
    html = client.get(change_url(consultation_request)).content.decode()
    assert headings(html)[:4] == [
        "Call the patient",
        "Work on this request",
        "Book an open time",
        "Book the consultation",
    ]
    first = html[html.index("Call the patient") : html.index("Book an open time")]
    assert 'href="tel:+12125550199"' in first
    assert "(212) 555-0199" in first
    assert "Weekday evenings (5pm–7pm)" in first
    assert "leave a voicemail: yes" in first
    assert 'name="call_outcome"' in first and 'name="status"' in first and 'name="new_note"' in first
    assert 'href="#id_appointment_date"' in first


def test_the_front_desk_reads_why_urgent_in_its_words_and_the_protocol(client, login_as, clinic_facts):
    clinic_facts.urgent_protocol = "Call within the hour.\nIf in danger, call 911."
    clinic_facts.save()
    login_as("front_desk")
    html = client.get(change_url(urgent_request())).content.decode()
    assert "Clinical urgent: call today" in html
    assert (
        '<div class="urgent-protocol"><p>Call within the hour.<br>If in danger, call 911.</p></div>' in html
    )
    for reason in CLINICIAN_REASONS:
        assert reason not in html


def test_the_clinician_reads_why_urgent_first_and_phq9_item_9_on_its_own(client, login_as):
    login_as("clinician")
    html = client.get(change_url(urgent_request())).content.decode()
    summary = html[html.index("For the clinician") : html.index(">Safety<")]
    for reason in CLINICIAN_REASONS:
        assert reason in summary
    assert "Clinical urgent: call today" not in html
    assert (
        '<span class="phq9-item-9 phq9-item-9--raised"><strong>2</strong> · More than half the days</span>'
        in (summary)
    )
    # No protocol entered yet: the default, in the clinician's summary.
    assert "call the patient within the hour" in summary


def test_a_skipped_phq9_reads_not_answered(client, login_as):
    login_as("clinician")
    html = client.get(change_url(make_request())).content.decode()
    summary = html[html.index("For the clinician") : html.index(">Safety<")]
    assert '<span class="phq9-item-9">not answered</span>' in summary


def test_the_title_carries_the_clinics_local_date(client, login_as, settings):
    settings.TIME_ZONE = "America/New_York"
    login_as("front_desk")
    # 22:04 in New York on Nov 27 is 03:04 UTC on Nov 28.
    received = datetime.datetime(2026, 11, 27, 22, 4, tzinfo=ZoneInfo("America/New_York"))
    consultation_request = make_request(created_at=received)
    html = client.get(change_url(consultation_request)).content.decode()
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert f"{consultation_request.reference} (2026-11-27)" in title


def test_the_front_desk_logs_a_call_from_the_page(client, login_as):
    desk = login_as("front_desk")
    consultation_request = make_request()
    response = client.post(
        change_url(consultation_request), admin_form_data(consultation_request, call_outcome="reached")
    )
    assert response.status_code == 302
    assert CallAttempt.objects.get().made_by == desk
    consultation_request.refresh_from_db()
    assert consultation_request.status == "contacted"
    html = client.get(change_url(consultation_request)).content.decode()
    assert "Reached them" in html[html.index("Calls so far") :]


def test_a_clinicians_decision_shows_to_the_front_desk_as_the_outcome_only(client, login_as):
    clinician = make_staff("clinician", username="drlee", first_name="Ana", last_name="Lee")
    consultation_request = make_request()
    services.clinical_decision_record(
        consultation_request=consultation_request,
        outcome="not_suitable",
        reason="psychiatric",
        details="Zebra-clinical-detail",
        by=clinician,
    )
    login_as("front_desk")
    html = client.get(change_url(consultation_request)).content.decode()
    first = html[html.index("Call the patient") : html.index("Work on this request")]
    assert "Not suitable" in first and "Ana Lee" in first
    assert "Zebra-clinical-detail" not in html
    assert "Current mania, psychosis" not in html
    assert 'name="decision_outcome"' not in html
    history = html[html.index("Status history") :]
    assert "Clinical decision: Not suitable" in history


def test_a_clinician_records_a_decision_from_the_page(client, login_as):
    clinician = login_as("clinician")
    consultation_request = make_request()
    data = admin_form_data(
        consultation_request,
        decision_outcome="not_suitable",
        decision_reason="medical",
        decision_details="Uncontrolled hypertension",
        decision_close="on",
    )
    response = client.post(change_url(consultation_request), data)
    assert response.status_code == 302
    decision = ClinicalDecision.objects.get()
    assert (decision.outcome, decision.reason, decision.decided_by) == ("not_suitable", "medical", clinician)
    consultation_request.refresh_from_db()
    assert consultation_request.status == "declined"
    html = client.get(change_url(consultation_request)).content.decode()
    assert "Uncontrolled hypertension" in html
    assert AuditEvent.objects.filter(action="decision").count() == 1


def test_a_decision_the_form_refuses_keeps_nothing(client, login_as):
    login_as("clinician")
    consultation_request = make_request()
    data = admin_form_data(consultation_request, decision_outcome="not_suitable", new_note="Typed note")
    response = client.post(change_url(consultation_request), data)
    assert response.status_code == 200
    assert "Choose the reason it is not suitable." in response.content.decode()
    assert ClinicalDecision.objects.count() == 0
    data = admin_form_data(consultation_request, decision_outcome="suitable", decision_close="on")
    response = client.post(change_url(consultation_request), data)
    assert "Only a “Not suitable” decision closes the request." in response.content.decode()
    assert ClinicalDecision.objects.count() == 0


def test_a_front_desk_post_of_a_decision_is_ignored(client, login_as):
    login_as("front_desk")
    consultation_request = make_request()
    data = admin_form_data(consultation_request, decision_outcome="suitable")
    response = client.post(change_url(consultation_request), data)
    assert response.status_code == 302
    assert ClinicalDecision.objects.count() == 0
