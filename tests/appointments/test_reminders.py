"""Reminders before a consultation: the right one at the right time, never for a moved or cancelled one."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from appointments import jobs
from appointments.emails import outbound_email_send_due
from appointments.models import Appointment, OutboundEmail
from appointments.services import Source, appointment_book, appointment_cancel, appointment_move
from appointments.services.reminders import appointment_reminders_due, appointment_reminders_enqueue_due
from tests.factories import make_request, make_staff

from .conftest import SCREENING_MARKERS

# Open every hour of every day: a reminder is due whatever the hour the test runs.
EVERY_HOUR = [(day, "00:00", "23:59") for day in range(7)]

pytestmark = [pytest.mark.django_db, pytest.mark.clinician(hours=EVERY_HOUR)]

HOURS = [24, 2]
ZONE = "America/New_York"


@pytest.fixture(autouse=True)
def _clinic_time_zone(settings):
    settings.TIME_ZONE = ZONE
    settings.APPOINTMENT_REMINDER_HOURS = HOURS


def next_hour(hours_ahead):
    """A whole hour about ``hours_ahead`` from now (open times start on the hour here)."""
    moment = timezone.now() + datetime.timedelta(hours=hours_ahead)
    return moment.replace(minute=0, second=0, microsecond=0) + datetime.timedelta(hours=1)


def booked(clinician, kind, starts_at, *, booked_ago=datetime.timedelta(days=3), **request_fields):
    appointment = appointment_book(
        consultation_request=make_request(state="NY", **request_fields),
        clinician=clinician,
        kind=kind,
        starts_at=starts_at,
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
    )
    # As if booked some days ago.
    Appointment.objects.filter(pk=appointment.pk).update(updated_at=timezone.now() - booked_ago)
    appointment.refresh_from_db()
    return appointment


def reminders():
    return OutboundEmail.objects.filter(dedupe_key__startswith="reminder:").order_by("pk")


def test_the_day_before_reminder_says_when_where_and_how_to_change_it(clinician, kind):
    screening = {name: value for name, value in SCREENING_MARKERS.items() if name != "concern_other"}
    appointment = booked(
        clinician, kind, next_hour(22), first_name="Maria", email="maria@example.com", **screening
    )

    assert appointment_reminders_enqueue_due(hours=HOURS) == 1

    (email,) = reminders()
    assert email.dedupe_key == f"reminder:{appointment.uid}:0:24h"
    assert email.to == "maria@example.com"
    local = timezone.localtime(appointment.starts_at)
    assert email.subject.startswith(f"Reminder: your consultation on {local:%A, %B} {local.day}")
    assert appointment.consultation_request.reference in email.subject
    assert "Dear Maria," in email.body
    assert "America/New_York" in email.body
    assert "How to join:" in email.body
    # The status link is signed with a timestamp: the part before it names the request.
    assert appointment.consultation_request.get_status_url().rsplit(":", 2)[0] in email.body
    for marker in SCREENING_MARKERS.values():
        assert marker not in email.subject + email.body


def test_only_the_latest_reminder_that_has_come_is_sent_and_only_once(clinician, kind):
    soon = booked(clinician, kind, next_hour(1))
    tomorrow = booked(clinician, kind, next_hour(20))
    booked(clinician, kind, next_hour(30))

    assert appointment_reminders_enqueue_due(hours=HOURS) == 2
    assert appointment_reminders_enqueue_due(hours=HOURS) == 2

    assert list(reminders().values_list("dedupe_key", flat=True)) == [
        f"reminder:{soon.uid}:0:2h",
        f"reminder:{tomorrow.uid}:0:24h",
    ]


def test_an_appointment_booked_after_the_reminders_moment_gets_no_reminder_for_it(clinician, kind):
    booked(clinician, kind, next_hour(20), booked_ago=datetime.timedelta(hours=1))
    assert appointment_reminders_due(now=timezone.now(), hours=HOURS) == []


def test_nothing_stale_goes_out_for_a_moved_or_a_cancelled_appointment(clinician, kind):
    moved = booked(clinician, kind, next_hour(20), email="moved@example.com")
    cancelled = booked(clinician, kind, next_hour(21), email="cancelled@example.com")
    appointment_reminders_enqueue_due(hours=HOURS)
    assert reminders().count() == 2

    front_desk = make_staff("front_desk")
    appointment_move(appointment=moved, starts_at=next_hour(40), source=Source.STAFF, by=front_desk)
    appointment_cancel(appointment=cancelled, source=Source.STAFF, by=front_desk)
    mail.outbox.clear()
    outbound_email_send_due()

    assert not any("Reminder" in message.subject for message in mail.outbox)
    assert not reminders().exists()
    # The moved one is reminded of later, at its new time and under its new sequence.
    assert (
        appointment_reminders_enqueue_due(now=next_hour(40) - datetime.timedelta(hours=1), hours=HOURS) == 1
    )
    (reminder,) = reminders()
    assert reminder.dedupe_key == f"reminder:{moved.uid}:1:2h"
    assert reminder.to == "moved@example.com"


def test_the_worker_queues_due_reminders_every_five_minutes(clinician, kind):
    appointment = booked(clinician, kind, next_hour(1), email="soon@example.com")

    registry = jobs.periodic_jobs_discover()
    assert registry["appointments.jobs.appointment_reminders_queue"].every == datetime.timedelta(minutes=5)
    jobs.periodic_jobs_run_due(every_job=True)

    assert list(reminders().values_list("dedupe_key", "to")) == [
        (f"reminder:{appointment.uid}:0:2h", "soon@example.com")
    ]
