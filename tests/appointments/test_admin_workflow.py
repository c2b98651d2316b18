"""The status workflow, defined once and followed by every path: staff, bulk actions, the patient."""

import itertools

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from appointments.models import AuditEvent, ConsultationRequest, StatusChange
from appointments.services import consultation_request_set_status
from tests.factories import make_request, make_staff

pytestmark = pytest.mark.django_db

Status = ConsultationRequest.Status
# The workflow, written out: each status and the moves staff may make from it ("scheduled" is
# reached by booking a consultation, in test_scheduling, so it is left out here).
ALLOWED = {
    "new": {"contacted", "scheduled", "declined", "cancelled_by_patient", "cancelled_by_staff", "spam"},
    "contacted": {"scheduled", "declined", "cancelled_by_patient", "cancelled_by_staff"},
    "scheduled": {"completed", "contacted", "cancelled_by_patient", "cancelled_by_staff"},
    "completed": set(),
    "declined": set(),
    "cancelled_by_patient": set(),
    "cancelled_by_staff": set(),
    "spam": {"new"},
}
PAIRS = [(a, b) for a, b in itertools.product(ALLOWED, repeat=2) if a != b and b != "scheduled"]


def test_the_written_out_workflow_names_every_status():
    assert set(ALLOWED) == set(Status.values)


@pytest.mark.parametrize(("current", "target"), PAIRS)
def test_every_move_follows_the_workflow(current, target):
    staff = make_staff("front_desk")
    consultation_request = make_request(status=current)
    allowed = target in ALLOWED[current]
    if allowed:
        moved = consultation_request_set_status(
            consultation_request=consultation_request, status=target, by=staff
        )
        assert moved.status == target
        change = StatusChange.objects.get()
        assert (change.from_status, change.to_status, change.changed_by, change.source) == (
            current,
            target,
            staff,
            "staff",
        )
        assert AuditEvent.objects.filter(action="status", actor=staff).count() == 1
    else:
        with pytest.raises(ValidationError) as error:
            consultation_request_set_status(
                consultation_request=consultation_request, status=target, by=staff
            )
        assert error.value.code == "invalid_transition"
        assert "cannot move to" in error.value.messages[0]
        consultation_request.refresh_from_db()
        assert consultation_request.status == current
        assert not StatusChange.objects.exists() and not AuditEvent.objects.exists()


def test_closing_records_when_and_reopening_spam_clears_it():
    staff = make_staff("front_desk")
    consultation_request = make_request()
    spam = consultation_request_set_status(
        consultation_request=consultation_request, status=Status.SPAM, by=staff
    )
    assert spam.closed_at is not None
    reopened = consultation_request_set_status(
        consultation_request=consultation_request, status=Status.NEW, by=staff
    )
    assert reopened.closed_at is None


def test_moving_to_the_current_status_changes_nothing():
    staff = make_staff("front_desk")
    consultation_request = make_request(status=Status.CONTACTED)
    consultation_request_set_status(
        consultation_request=consultation_request, status=Status.CONTACTED, by=staff
    )
    assert not StatusChange.objects.exists()


def test_an_unknown_status_is_refused():
    with pytest.raises(ValidationError, match="is not a status"):
        consultation_request_set_status(consultation_request=make_request(), status="lost", by=None)


def test_the_patients_cancel_link_goes_through_the_same_service(client, django_capture_on_commit_callbacks):
    consultation_request = make_request()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(consultation_request.get_status_url())
    assert response.status_code == 302
    change = StatusChange.objects.get()
    assert (change.to_status, change.source, change.changed_by) == (
        Status.CANCELLED_BY_PATIENT,
        "patient",
        None,
    )
    event = AuditEvent.objects.get()
    assert (event.actor, event.actor_label, event.action) == (None, "patient", "status")


def test_the_patient_is_told_plainly_when_a_request_can_no_longer_be_cancelled(client):
    consultation_request = make_request(status=Status.COMPLETED)
    response = client.post(consultation_request.get_status_url())
    assert (
        "This request can no longer be cancelled online. Please call us instead." in response.content.decode()
    )


def test_staff_recording_a_patients_phone_cancellation_does_not_alert_the_staff(
    django_capture_on_commit_callbacks,
):
    staff = make_staff("front_desk")
    consultation_request = make_request()
    with django_capture_on_commit_callbacks(execute=True):
        consultation_request_set_status(
            consultation_request=consultation_request, status=Status.CANCELLED_BY_PATIENT, by=staff
        )
    assert not consultation_request.outbound_emails.exists()


def test_the_history_names_the_staff_member_or_the_patient(client, login_as):
    user = login_as("front_desk", first_name="Dana", last_name="Reyes")
    consultation_request = make_request()
    consultation_request_set_status(
        consultation_request=consultation_request, status=Status.CONTACTED, by=user
    )
    consultation_request_set_status(
        consultation_request=consultation_request, status=Status.CANCELLED_BY_PATIENT, by=None
    )
    html = client.get(
        reverse("admin:appointments_consultationrequest_change", args=[consultation_request.pk])
    )
    history = html.content.decode().split('class="status-history"')[1].split("</table>")[0]
    assert "Dana Reyes" in history
    assert "The patient, from the status link" in history
