"""The e-mail outbox: queue messages in PostgreSQL, and deliver them with retries and backoff.

Messages are rendered when queued and sent by ``manage.py mail_worker``, a separate process:
a request is never lost to a mail server that is down, and no web request waits on SMTP.
Neither the patient's nor the staff's message carries a health detail: their templates are
given only the fields they may show.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat, Now
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from clinic.context_processors import clinic_details

from .calendar import appointment_ics, appointment_location
from .models import Appointment, ConsultationRequest, OutboundEmail

logger = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0

    @property
    def handled(self):
        return self.sent + self.deferred + self.failed


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the given number of failed attempts, capped."""
    seconds = settings.OUTBOX_BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.OUTBOX_BACKOFF_MAX_SECONDS))


def _render(template, context):
    subject = render_to_string(f"appointments/email/{template}_subject.txt", context)
    body = render_to_string(f"appointments/email/{template}.txt", context)
    return " ".join(subject.split()), body


def outbound_email_enqueue(
    *,
    dedupe_key: str,
    to: str,
    subject: str,
    body: str,
    ics: str = "",
    consultation_request: ConsultationRequest | None = None,
) -> OutboundEmail:
    """Queue one message; a message already queued under ``dedupe_key`` is left as it is."""
    fields = {
        "to": to,
        "subject": subject,
        "body": body,
        "ics": ics,
        "consultation_request": consultation_request,
    }
    email = OutboundEmail(dedupe_key=dedupe_key, **fields)
    email.full_clean(exclude=["next_attempt_at"], validate_unique=False)
    email, _created = OutboundEmail.objects.get_or_create(dedupe_key=dedupe_key, defaults=fields)
    return email


def acknowledgement_key(pk):
    return f"consultation-request:{pk}:acknowledgement"


def _admin_url(consultation_request):
    path = reverse(
        f"admin:{ConsultationRequest._meta.app_label}_{ConsultationRequest._meta.model_name}_change",
        args=[consultation_request.pk],
    )
    return clinic_details()["site_url"] + path


def consultation_request_emails_enqueue(*, consultation_request_id: int) -> None:
    """Queue the patient's acknowledgement and the staff alert for a new request."""
    consultation_request = ConsultationRequest.objects.get(pk=consultation_request_id)
    clinic = clinic_details()
    patient_context = {
        "clinic": clinic,
        "first_name": consultation_request.first_name,
        "reference": consultation_request.reference,
        "status_url": clinic["site_url"] + consultation_request.get_status_url(),
    }
    staff_context = {
        "clinic": clinic,
        "reference": consultation_request.reference,
        "is_urgent": consultation_request.is_urgent,
        "received": consultation_request.created_at,
        "admin_url": _admin_url(consultation_request),
    }
    with transaction.atomic():
        subject, body = _render("patient_acknowledgement", patient_context)
        outbound_email_enqueue(
            dedupe_key=acknowledgement_key(consultation_request.pk),
            consultation_request=consultation_request,
            to=consultation_request.email,
            subject=subject,
            body=body,
        )
        subject, body = _render("staff_alert", staff_context)
        outbound_email_enqueue(
            dedupe_key=f"consultation-request:{consultation_request.pk}:staff-alert",
            consultation_request=consultation_request,
            to=settings.CLINIC_STAFF_EMAIL,
            subject=subject,
            body=body,
        )


def consultation_request_cancelled_email_enqueue(*, consultation_request_id: int) -> None:
    """Tell the staff that a patient cancelled their request (reference and link only)."""
    consultation_request = ConsultationRequest.objects.get(pk=consultation_request_id)
    subject, body = _render(
        "staff_cancelled",
        {
            "clinic": clinic_details(),
            "reference": consultation_request.reference,
            "admin_url": _admin_url(consultation_request),
        },
    )
    outbound_email_enqueue(
        dedupe_key=f"consultation-request:{consultation_request.pk}:cancelled-by-patient",
        consultation_request=consultation_request,
        to=settings.CLINIC_STAFF_EMAIL,
        subject=subject,
        body=body,
    )


def appointment_email_enqueue(*, appointment: Appointment) -> OutboundEmail:
    """Queue the patient's invitation, update or cancellation for the appointment as it stands now.

    Called inside the scheduling service's transaction: the message and the appointment commit
    together or not at all, and the worker sees the message only once they have. Each version
    of the event (its ``sequence``) is queued once.
    """
    consultation_request = appointment.consultation_request
    clinic = clinic_details()
    if appointment.status == Appointment.Status.CANCELLED:
        template = "appointment_cancelled"
    elif appointment.sequence == 0:
        template = "appointment_invitation"
    else:
        template = "appointment_updated"
    subject, body = _render(
        template,
        {
            "clinic": clinic,
            "first_name": consultation_request.first_name,
            "reference": consultation_request.reference,
            "starts_at": appointment.starts_at.astimezone(ZoneInfo(settings.TIME_ZONE)),
            "time_zone": settings.TIME_ZONE,
            "duration_minutes": appointment.duration_minutes,
            "is_telehealth": appointment.modality == Appointment.Modality.TELEHEALTH,
            "location": appointment_location(appointment),
            "telehealth_instructions": appointment.telehealth_instructions,
            "status_url": clinic["site_url"] + consultation_request.get_status_url(),
        },
    )
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


def consultation_request_emails_recover(*, older_than: timedelta = timedelta(minutes=1)) -> int:
    """Queue the e-mails of recent requests that have none, and return how many requests that was.

    The e-mails are queued right after a request commits; a process that dies in between
    would leave a saved request without them. The worker calls this now and then to close
    that gap; the dedupe keys make a second queueing harmless.
    """
    now = timezone.now()
    acknowledgement = OutboundEmail.objects.filter(
        dedupe_key=Concat(
            Value("consultation-request:"), Cast(OuterRef("pk"), CharField()), Value(":acknowledgement")
        )
    )
    orphans = (
        ConsultationRequest.objects.filter(created_at__range=(now - timedelta(days=7), now - older_than))
        .exclude(Exists(acknowledgement))
        .values_list("pk", flat=True)
    )
    count = 0
    for pk in orphans:
        consultation_request_emails_enqueue(consultation_request_id=pk)
        logger.warning("Queued the missing e-mails of consultation request %s", pk)
        count += 1
    return count


def _message(email, connection):
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
    message = EmailMessage(
        subject=email.subject,
        body=email.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        connection=connection,
        # The same Message-ID on every attempt lets a mail server drop a duplicate delivery.
        headers={"Message-ID": f"<outbox-{email.pk}@{domain}>", "Auto-Submitted": "auto-generated"},
    )
    if email.ics:
        message.attach("invitation.ics", email.ics, "text/calendar")
    return message


def outbound_email_send_due(*, limit: int = 100) -> DeliveryReport:
    """Send up to ``limit`` due messages, one transaction each; defer or fail those that bounce.

    Each message is locked while it is sent (``SKIP LOCKED``), so several workers can run at
    once and none sends a message another one holds.
    """
    report = DeliveryReport()
    connection = get_connection()
    try:
        while report.handled < limit:
            with transaction.atomic():
                email = (
                    OutboundEmail.objects.select_for_update(skip_locked=True)
                    .filter(status=OutboundEmail.Status.PENDING, next_attempt_at__lte=Now())
                    .order_by("next_attempt_at", "pk")
                    .first()
                )
                if email is None:
                    break
                try:
                    _message(email, connection).send()
                except Exception as error:
                    connection.close()
                    _record_failure(email, error, report)
                else:
                    email.status = OutboundEmail.Status.SENT
                    email.attempts += 1
                    email.sent_at = timezone.now()
                    email.last_error = ""
                    email.save(update_fields=["status", "attempts", "sent_at", "last_error"])
                    report.sent += 1
                    logger.info("Outbound e-mail %s sent", email.pk)
    finally:
        connection.close()
    return report


def _record_failure(email, error, report):
    email.attempts += 1
    # The class name only: SMTP error texts can quote the recipient's address.
    email.last_error = type(error).__name__[:200]
    if email.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        email.status = OutboundEmail.Status.FAILED
        report.failed += 1
        logger.error("Outbound e-mail %s failed for good after %d attempts", email.pk, email.attempts)
    else:
        email.next_attempt_at = timezone.now() + retry_delay(email.attempts)
        report.deferred += 1
        logger.warning(
            "Outbound e-mail %s deferred after attempt %d (%s)", email.pk, email.attempts, email.last_error
        )
    email.save(update_fields=["status", "attempts", "last_error", "next_attempt_at"])
