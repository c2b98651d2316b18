"""Reminders before a booked consultation: what they say, which are due, and withdrawing stale ones.

A reminder describes the appointment as it stands when it is queued, and its outbox key carries
the appointment's sequence, so a moved appointment is reminded of at its new time only. Of the
reminder times (``APPOINTMENT_REMINDER_HOURS``, 24 and 2 hours before by default) only the
latest one that has come is sent: a job that ran late sends the 2-hour reminder, not both. An
appointment booked or moved after a reminder's moment gets none for it: its invitation or update
has just said the same. Like every patient e-mail, a reminder carries no health detail.

``appointment_reminders_enqueue_due`` is meant to run every few minutes on the job runner;
moving or cancelling an appointment withdraws its reminders still waiting in the outbox.
"""

import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clinic import details

from ..emails import render_email
from ..models import Appointment, OutboundEmail
from .outbox import outbound_email_enqueue, patient_appointment_location, patient_status_url

REMINDER_PREFIX = "reminder"


def reminder_key(appointment: Appointment, hours: int) -> str:
    return f"{REMINDER_PREFIX}:{appointment.uid}:{appointment.sequence}:{hours}h"


def appointment_reminder_enqueue(*, appointment: Appointment, hours: int) -> OutboundEmail | None:
    """Queue the patient's reminder ``hours`` before the appointment; nothing for a cancelled one."""
    consultation_request = appointment.consultation_request
    if appointment.status != Appointment.Status.BOOKED or consultation_request.anonymised_at:
        return None
    clinic = details.get()
    subject, body = render_email(
        "appointment_reminder",
        {
            "clinic": clinic,
            "first_name": consultation_request.first_name,
            "reference": consultation_request.reference,
            "starts_at": appointment.starts_at.astimezone(ZoneInfo(settings.TIME_ZONE)),
            "time_zone": settings.TIME_ZONE,
            "duration_minutes": appointment.duration_minutes,
            "is_telehealth": appointment.modality == Appointment.Modality.TELEHEALTH,
            "location": patient_appointment_location(appointment, consultation_request),
            "telehealth_instructions": appointment.telehealth_instructions,
            "status_url": clinic.site_url + patient_status_url(consultation_request),
        },
        language=consultation_request.language_code,
    )
    return outbound_email_enqueue(
        dedupe_key=reminder_key(appointment, hours),
        consultation_request=consultation_request,
        to=consultation_request.email,
        subject=subject,
        body=body,
    )


def appointment_reminders_due(*, now: datetime.datetime, hours: list[int]) -> list[tuple[Appointment, int]]:
    """The booked appointments a reminder is due for at ``now``, each with the reminder's hours."""
    leads = sorted(set(hours))
    if not leads:
        return []
    upcoming = (
        Appointment.objects.filter(
            status=Appointment.Status.BOOKED,
            starts_at__gt=now,
            starts_at__lte=now + datetime.timedelta(hours=leads[-1]),
        )
        .select_related("consultation_request")
        .order_by("starts_at")
    )
    due = []
    for appointment in upcoming:
        lead = min(h for h in leads if appointment.starts_at - datetime.timedelta(hours=h) <= now)
        if appointment.updated_at > appointment.starts_at - datetime.timedelta(hours=lead):
            continue
        due.append((appointment, lead))
    return due


def appointment_reminders_enqueue_due(
    *, now: datetime.datetime | None = None, hours: list[int] | None = None
) -> int:
    """Queue every reminder due now (each once, however often this runs); return how many were due."""
    now = now or timezone.now()
    hours = settings.APPOINTMENT_REMINDER_HOURS if hours is None else hours
    due = appointment_reminders_due(now=now, hours=hours)
    with transaction.atomic():
        for appointment, lead in due:
            appointment_reminder_enqueue(appointment=appointment, hours=lead)
    return len(due)


def appointment_reminders_withdraw(*, appointment: Appointment) -> int:
    """Delete this appointment's reminders still waiting in the outbox (it was moved or cancelled).

    Call inside the transaction that moves or cancels it: the withdrawal commits with the change.
    """
    deleted, _by_model = OutboundEmail.objects.filter(
        dedupe_key__startswith=f"{REMINDER_PREFIX}:{appointment.uid}:", status=OutboundEmail.Status.PENDING
    ).delete()
    return deleted
