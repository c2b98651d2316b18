"""Retention: closed requests are anonymised after the configured period; open ones and the audit
trail are kept."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from appointments.models import (
    Appointment,
    AuditEvent,
    ConsultationRequest,
    OutboundEmail,
    StaffNote,
    StatusChange,
)
from appointments.services import (
    Source,
    appointment_book,
    consultation_request_emails_enqueue,
    consultation_request_set_status,
    staff_note_create,
)
from tests.factories import make_request, make_staff

from .conftest import SCREENING_MARKERS

pytestmark = pytest.mark.django_db

Status = ConsultationRequest.Status
FREE_TEXT = dict(SCREENING_MARKERS)


def closed_request(*, days_ago, status=Status.DECLINED, **overrides):
    """A request with its e-mails, a note, a booking and a status history, closed ``days_ago`` days ago."""
    staff = make_staff("front_desk", username=f"staff{ConsultationRequest.objects.count()}")
    consultation_request = make_request(
        first_name="Maria",
        last_name="Okonkwo",
        email="maria@example.com",
        phone="+12125550199",
        **FREE_TEXT,
        **overrides,
    )
    consultation_request_emails_enqueue(consultation_request_id=consultation_request.pk)
    staff_note_create(
        consultation_request=consultation_request, author=staff, text="Called Maria on 212 555 0199"
    )
    appointment_book(
        consultation_request=consultation_request,
        starts_at=timezone.now() + datetime.timedelta(days=1),
        duration_minutes=60,
        modality="telehealth",
        telehealth_instructions="Room for Maria: https://video.example/maria",
        source=Source.STAFF,
        by=staff,
    )
    if status != Status.SCHEDULED:
        consultation_request_set_status(
            consultation_request=consultation_request,
            status=Status.CANCELLED_BY_STAFF if status == Status.DECLINED else status,
            by=staff,
            note="Maria moved away",
        )
    ConsultationRequest.objects.filter(pk=consultation_request.pk).update(
        closed_at=timezone.now() - datetime.timedelta(days=days_ago)
    )
    return ConsultationRequest.objects.get(pk=consultation_request.pk)


def run(*args):
    out = io.StringIO()
    call_command("purge_closed_requests", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def requests(settings):
    settings.CONSULTATION_RETENTION_DAYS = 365
    return {
        "old_closed": closed_request(days_ago=400),
        "recent_closed": closed_request(days_ago=30),
        "old_open": make_request(created_at=timezone.now() - datetime.timedelta(days=900), **FREE_TEXT),
        "old_scheduled": closed_request(days_ago=0, status=Status.SCHEDULED),
    }


def test_dry_run_counts_and_changes_nothing(requests):
    before = list(ConsultationRequest.objects.order_by("pk").values())
    audit_before = AuditEvent.objects.count()
    output = run("--dry-run")
    assert "Would anonymise 1 closed request(s) closed more than 365 days ago" in output
    assert "with 4 e-mail(s), 1 note(s) and 1 appointment(s)" in output
    assert "Kept 1 open request(s) older than that" in output
    assert list(ConsultationRequest.objects.order_by("pk").values()) == before
    assert AuditEvent.objects.count() == audit_before


def test_old_closed_requests_lose_identity_free_text_notes_and_mail(requests, client):
    old = requests["old_closed"]
    status_url = old.get_status_url()
    audit_before = list(AuditEvent.objects.filter(consultation_request=old).values_list("pk", "description"))
    output = run()
    assert "Anonymised 1 closed request(s)" in output

    old.refresh_from_db()
    assert (old.first_name, old.last_name, old.phone) == ("Anonymised", "Anonymised", "")
    assert old.email == f"anonymised-{old.pk}@anonymised.invalid"
    assert old.date_of_birth.month == 1 and old.date_of_birth.day == 1
    for name in FREE_TEXT:
        assert getattr(old, name) == ""
    assert old.anonymised_at is not None
    # Kept for the clinic's counts: reference, dates, status, structured answers and flags.
    assert old.reference == requests["old_closed"].reference and old.status == Status.CANCELLED_BY_STAFF
    assert old.concern == "bipolar_depression"

    assert (
        StaffNote.objects.get(consultation_request=old).text
        == "(Removed at the end of the retention period.)"
    )
    assert not StatusChange.objects.filter(consultation_request=old).exclude(note="").exists()
    appointment = Appointment.objects.get(consultation_request=old)
    assert appointment.telehealth_instructions == "" and appointment.location == ""
    for email in OutboundEmail.objects.filter(consultation_request=old):
        assert email.to == f"anonymised-{old.pk}@anonymised.invalid"
        assert (email.subject, email.body, email.ics) == ("", "", "")
        assert email.status != OutboundEmail.Status.PENDING

    everything = " ".join(
        str(row)
        for model in [ConsultationRequest, StaffNote, StatusChange, Appointment, OutboundEmail]
        for row in model.objects.filter(
            **({"pk": old.pk} if model is ConsultationRequest else {"consultation_request": old})
        ).values()
    )
    for secret in ["Maria", "Okonkwo", "maria@example.com", "2125550199", "555 0199", *FREE_TEXT.values()]:
        assert secret not in everything

    # The patient's status link no longer works.
    assert client.get(status_url).status_code == 404

    # The audit trail keeps every event, and gains one for the anonymisation.
    after = list(AuditEvent.objects.filter(consultation_request=old).values_list("pk", "description"))
    assert set(audit_before) <= set(after)
    assert len(after) == len(audit_before) + 1
    assert AuditEvent.objects.get(consultation_request=old, action="anonymise").actor_label == "retention"


def test_open_and_recently_closed_requests_are_kept(requests):
    run()
    for key in ["recent_closed", "old_open", "old_scheduled"]:
        kept = ConsultationRequest.objects.get(pk=requests[key].pk)
        assert kept.first_name != "Anonymised" and kept.anonymised_at is None
        assert kept.current_medications == SCREENING_MARKERS["current_medications"]
    assert OutboundEmail.objects.filter(
        consultation_request=requests["recent_closed"], to="maria@example.com"
    ).exists()


def test_a_second_run_finds_nothing_more(requests):
    run()
    audit_count = AuditEvent.objects.count()
    assert "Anonymised 0 closed request(s)" in run()
    assert AuditEvent.objects.count() == audit_count


def test_the_period_comes_from_the_setting_or_the_option(requests, settings):
    settings.CONSULTATION_RETENTION_DAYS = 10
    assert "Would anonymise 2 closed request(s) closed more than 10 days ago" in run("--dry-run")
    assert "Would anonymise 0 closed request(s) closed more than 500 days ago" in run(
        "--dry-run", "--days", "500"
    )


def test_a_request_closed_before_closing_times_were_kept_counts_from_its_last_update(settings):
    settings.CONSULTATION_RETENTION_DAYS = 365
    legacy = make_request(status=Status.SPAM)
    ConsultationRequest.objects.filter(pk=legacy.pk).update(
        closed_at=None, updated_at=timezone.now() - datetime.timedelta(days=500)
    )
    run()
    legacy.refresh_from_db()
    assert legacy.anonymised_at is not None


def test_a_clinicians_reasoning_is_emptied_and_the_outcome_kept():
    from appointments.models import ClinicalDecision
    from appointments.services import clinical_decision_record, consultation_request_anonymise

    consultation_request = closed_request(days_ago=400)
    clinical_decision_record(
        consultation_request=consultation_request,
        outcome="not_suitable",
        reason="medical",
        details="Uncontrolled hypertension, 190/110",
        by=make_staff("clinician"),
    )
    consultation_request_anonymise(consultation_request=consultation_request)
    decision = ClinicalDecision.objects.get()
    assert (decision.outcome, decision.reason, decision.details) == ("not_suitable", "medical", "")
