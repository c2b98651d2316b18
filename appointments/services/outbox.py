"""Queueing e-mails in the PostgreSQL outbox: the patient's and the staff's messages about a request.

The services call these inside their transactions, so that a message is queued if and only if the
change it tells of commits; the mail worker delivers what is queued (``appointments.emails``).
The messages about a request are queued by their template's name and rendered by the worker; the
appointments' are rendered here. Neither the patient's nor the staff's message carries a health
detail: their templates are given only the fields they may show.
"""

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import translation

from clinic import details

from ..calendar import appointment_ics, appointment_location
from ..emails import patient_status_url, render_email
from ..models import Appointment, ConsultationRequest, OutboundEmail

logger = logging.getLogger(__name__)


def outbound_email_enqueue(
    *,
    dedupe_key: str,
    to: str,
    subject: str,
    body: str,
    ics: str = "",
    consultation_request: ConsultationRequest | None = None,
    send_after: datetime | None = None,
) -> OutboundEmail:
    """Queue one message, sent as soon as possible or not before ``send_after`` (a reminder).

    A message already queued under ``dedupe_key`` is left as it is.
    """
    fields = {
        "to": to,
        "subject": subject,
        "body": body,
        "ics": ics,
        "consultation_request": consultation_request,
    }
    if send_after is not None:
        fields["next_attempt_at"] = send_after
    email = OutboundEmail(dedupe_key=dedupe_key, **fields)
    email.full_clean(exclude=[] if send_after else ["next_attempt_at"], validate_unique=False)
    email, _created = OutboundEmail.objects.get_or_create(dedupe_key=dedupe_key, defaults=fields)
    return email


def outbound_emails_record(*, consultation_request_id: int, messages: list[tuple[str, str, str]]) -> None:
    """Queue messages about a request by their template's name (``emails.REQUEST_EMAILS``), in one INSERT.

    ``messages`` are ``(dedupe_key, template, to)``; the mail worker renders each one from the
    request before its first attempt. A message already queued under its key is left as it is.
    """
    emails = [
        OutboundEmail(
            dedupe_key=key, template=template, to=to, consultation_request_id=consultation_request_id
        )
        for key, template, to in messages
    ]
    for email in emails:
        # The check constraint is the database's (checking it here would cost a query a message).
        email.full_clean(
            exclude=["consultation_request", "next_attempt_at"],
            validate_unique=False,
            validate_constraints=False,
        )
    OutboundEmail.objects.bulk_create(emails, ignore_conflicts=True)


def acknowledgement_key(pk):
    return f"consultation-request:{pk}:acknowledgement"


def consultation_request_emails_enqueue(
    *, consultation_request_id: int, email: str | None = None, is_unfinished: bool | None = None
) -> None:
    """Queue the patient's acknowledgement and the staff alert for a new request.

    An unfinished request (an urgent draft that reached staff) gets the staff alert only: the
    patient has not sent anything yet. Their acknowledgement follows when they do. A caller with
    the request at hand passes its ``email`` and ``is_unfinished``; otherwise they are read.
    """
    pk = consultation_request_id
    if email is None or is_unfinished is None:
        email, is_unfinished = ConsultationRequest.objects.values_list("email", "is_unfinished").get(pk=pk)
    messages = [] if is_unfinished else [(acknowledgement_key(pk), "patient_acknowledgement", email)]
    messages.append((f"consultation-request:{pk}:staff-alert", "staff_alert", settings.CLINIC_STAFF_EMAIL))
    outbound_emails_record(consultation_request_id=pk, messages=messages)


def consultation_request_cancelled_email_enqueue(*, consultation_request_id: int) -> None:
    """Tell the staff that a patient cancelled their request (reference and link only)."""
    pk = consultation_request_id
    outbound_emails_record(
        consultation_request_id=pk,
        messages=[
            (
                f"consultation-request:{pk}:cancelled-by-patient",
                "staff_cancelled",
                settings.CLINIC_STAFF_EMAIL,
            )
        ],
    )


def consultation_request_not_suitable_email_enqueue(*, consultation_request_id: int) -> None:
    """Tell the patient, kindly and with no health detail, that the clinic cannot offer treatment,
    and where to find help."""
    pk = consultation_request_id
    email = ConsultationRequest.objects.values_list("email", flat=True).get(pk=pk)
    outbound_emails_record(
        consultation_request_id=pk,
        messages=[(f"consultation-request:{pk}:not-suitable", "patient_not_suitable", email)],
    )


def staff_appointment_changed_enqueue(*, appointment: Appointment, moved: bool) -> None:
    """Tell the staff that the patient moved or cancelled their consultation (reference and link only)."""
    change = "moved" if moved else "cancelled"
    outbound_emails_record(
        consultation_request_id=appointment.consultation_request_id,
        messages=[
            (
                f"appointment:{appointment.uid}:{appointment.sequence}:staff-{change}",
                f"staff_appointment_{change}",
                settings.CLINIC_STAFF_EMAIL,
            )
        ],
    )


def appointment_email_enqueue(
    *, appointment: Appointment, moved_from: datetime | None = None, reason: str = ""
) -> OutboundEmail:
    """Queue the patient's invitation, update or cancellation for the appointment as it stands now.

    An update can say when the consultation was (``moved_from``) and why the clinic moved it
    (``reason``, a ``booking.MoveReason``: the template words each one in the patient's
    language, so no free text staff typed reaches the e-mail).

    Called inside the scheduling service's transaction: the message and the appointment commit
    together or not at all, and the worker sees the message only once they have. Each version
    of the event (its ``sequence``) is queued once.
    """
    consultation_request = appointment.consultation_request
    clinic = details.get()
    if appointment.status == Appointment.Status.CANCELLED:
        template = "appointment_cancelled"
    elif appointment.sequence == 0:
        template = "appointment_invitation"
    else:
        template = "appointment_updated"
    subject, body = render_email(
        template,
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
            "moved_from": moved_from.astimezone(ZoneInfo(settings.TIME_ZONE)) if moved_from else None,
            "reason": reason,
        },
        language=consultation_request.language_code,
    )
    with translation.override(consultation_request.language_code):
        ics = appointment_ics(
            appointment=appointment,
            reference=consultation_request.reference,
            attendee_email=consultation_request.email,
            attendee_name=consultation_request.first_name,
        )
    return outbound_email_enqueue(
        dedupe_key=f"appointment:{appointment.uid}:{appointment.sequence}",
        consultation_request=consultation_request,
        to=consultation_request.email,
        subject=subject,
        body=body,
        ics=ics,
    )


def patient_appointment_location(appointment, consultation_request):
    """Where the appointment is held, in the patient's language (a video call's label is translated)."""
    with translation.override(consultation_request.language_code):
        return appointment_location(appointment)
