"""The intake reminder: 48 hours before a booked consultation when the intake is not complete, once
per request, never for a cancelled one, with the signed link and no health detail."""

import datetime

import pytest
from django.utils import timezone

from appointments import jobs
from appointments.models import Appointment, OutboundEmail
from appointments.services import Source, appointment_book, appointment_cancel, intake_reminders_enqueue_due
from tests.factories import make_request, make_staff

from .conftest import SCREENING_MARKERS

# Open every hour of every day: a reminder is due whatever the hour the test runs.
EVERY_HOUR = [(day, "00:00", "23:59") for day in range(7)]

pytestmark = [pytest.mark.django_db, pytest.mark.clinician(hours=EVERY_HOUR)]


@pytest.fixture(autouse=True)
def _clinic(settings, clinic_facts):
    settings.TIME_ZONE = "America/New_York"
    settings.INTAKE_REMINDER_HOURS = 48


def in_hours(hours):
    moment = timezone.now() + datetime.timedelta(hours=hours)
    return moment.replace(minute=0, second=0, microsecond=0) + datetime.timedelta(hours=1)


def book(clinician, kind, starts_at, **request_fields):
    return appointment_book(
        consultation_request=make_request(state="NY", **request_fields),
        clinician=clinician,
        kind=kind,
        starts_at=starts_at,
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
    )


def reminders():
    return OutboundEmail.objects.filter(dedupe_key__startswith="intake-reminder:")


def test_no_reminder_before_48_hours_then_one_with_the_link_and_no_health_detail(clinician, kind):
    appointment = book(
        clinician, kind, in_hours(72), first_name="Maria", email="maria@example.com",
        current_medications=SCREENING_MARKERS["current_medications"], diagnosis="bipolar_1",
    )  # fmt: skip
    assert intake_reminders_enqueue_due() == 0

    later = appointment.starts_at - datetime.timedelta(hours=47)  # the clock moved on a day
    assert intake_reminders_enqueue_due(now=later) == 1
    (email,) = reminders()
    request = appointment.consultation_request
    assert email.to == "maria@example.com"
    assert email.dedupe_key == f"intake-reminder:{request.pk}"
    assert request.reference in email.subject
    assert "/consultation/intake/" in email.body and request.reference in email.body
    assert "skip any question" in email.body
    for health in [SCREENING_MARKERS["current_medications"], "Bipolar", "bipolar", "PHQ", "MDQ", "ketamine"]:
        assert health not in email.subject + email.body, health


def test_once_per_request_however_often_the_job_runs(clinician, kind):
    appointment = book(clinician, kind, in_hours(30))
    assert intake_reminders_enqueue_due() == 1
    assert intake_reminders_enqueue_due() == 0
    assert intake_reminders_enqueue_due(now=appointment.starts_at - datetime.timedelta(hours=2)) == 0
    assert reminders().count() == 1


def test_a_run_with_everyone_already_reminded_is_one_query_however_many(
    clinician, kind, django_assert_num_queries
):
    for hours in (20, 25, 30):
        book(clinician, kind, in_hours(hours))
    assert intake_reminders_enqueue_due() == 3
    with django_assert_num_queries(1):
        assert intake_reminders_enqueue_due() == 0


def test_not_sent_when_the_intake_is_complete(clinician, kind):
    book(clinician, kind, in_hours(30), intake_started_at=timezone.now(), intake_completed_at=timezone.now())
    assert intake_reminders_enqueue_due() == 0
    assert not reminders().exists()


def test_sent_when_the_intake_is_only_started(clinician, kind):
    book(clinician, kind, in_hours(30), intake_started_at=timezone.now())
    assert intake_reminders_enqueue_due() == 1


def test_not_sent_for_a_cancelled_appointment(clinician, kind):
    appointment = book(clinician, kind, in_hours(30))
    appointment_cancel(appointment=appointment, source=Source.STAFF, by=make_staff("front_desk"))
    assert intake_reminders_enqueue_due() == 0
    assert not reminders().exists()


def test_not_sent_for_a_consultation_already_past(clinician, kind):
    appointment = book(clinician, kind, in_hours(30))
    assert intake_reminders_enqueue_due(now=appointment.starts_at + datetime.timedelta(minutes=1)) == 0


def test_the_job_runner_runs_it(clinician, kind):
    book(clinician, kind, in_hours(30))
    assert "appointments.jobs.intake_reminders_queue" in jobs.periodic_jobs_discover()
    ran = jobs.periodic_jobs_run_due(every_job=True)
    assert "appointments.jobs.intake_reminders_queue" in ran
    assert reminders().count() == 1
