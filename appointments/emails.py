"""The e-mail outbox's delivery, with retries and backoff, and the rendering of its messages.

Messages are queued by the services (``appointments.services.outbox``) and sent by
``manage.py mail_worker``, a separate process: a request is never lost to a mail server that is
down, and no web request waits on SMTP. A new consultation request's e-mails are queued with it,
as a template's name each (``REQUEST_EMAILS``), and rendered here from the stored request just
before their first attempt, so the patient's request does not pay for it; the rendered subject and body are stored, so a retry sends the same
message. Neither the patient's nor the staff's message carries a health detail: their templates
are given only the fields they may show.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from clinic import details

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


def render_email(template, context, *, language=None):
    """The subject (one line) and body of an e-mail template, rendered with ``context``.

    In ``language`` (a patient's ``language_code``), or in the site's own language for staff,
    whatever language the page that queued it was in.
    """
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = render_to_string(f"appointments/email/{template}_subject.txt", context)
        body = render_to_string(f"appointments/email/{template}.txt", context)
    return " ".join(subject.split()), body


def admin_url(consultation_request):
    """The full address of a request's page in the staff workspace, for staff e-mails."""
    path = reverse(
        f"admin:{ConsultationRequest._meta.app_label}_{ConsultationRequest._meta.model_name}_change",
        args=[consultation_request.pk],
    )
    return details.site_url() + path


def patient_status_url(consultation_request):
    """The patient's status page in the language they wrote in (/es/... for Spanish)."""
    with translation.override(consultation_request.language_code):
        return consultation_request.get_status_url()


def patient_intake_url(consultation_request):
    """The patient's clinical intake in the language they wrote in."""
    with translation.override(consultation_request.language_code):
        return consultation_request.get_intake_url()


def _acknowledgement_context(consultation_request, clinic):
    now = timezone.now()
    opens = clinic.next_opening(after=now)
    return {
        "clinic": clinic,
        "first_name": consultation_request.first_name,
        "reference": consultation_request.reference,
        "is_urgent": consultation_request.is_urgent,
        "open_now": opens == now,
        "next_opening": opens and opens.astimezone(clinic.time_zone),
        "status_url": clinic.site_url + patient_status_url(consultation_request),
        "intake_url": clinic.site_url + patient_intake_url(consultation_request),
        "appointment": _booked_appointment(consultation_request, clinic),
    }


def _booked_appointment(consultation_request, clinic):
    """The time booked with the request (chosen while booking), as its acknowledgement says it."""
    appointment = consultation_request.appointments.filter(status=Appointment.Status.BOOKED).first()
    if appointment is None:
        return None
    return {
        "starts_at": appointment.starts_at.astimezone(clinic.time_zone),
        "zone": clinic.time_zone_label,
        "is_telehealth": appointment.modality == Appointment.Modality.TELEHEALTH,
    }


def _staff_alert_context(consultation_request, clinic):
    return {
        "clinic": clinic,
        "reference": consultation_request.reference,
        "is_urgent": consultation_request.is_urgent,
        "is_unfinished": consultation_request.is_unfinished,
        "received": consultation_request.created_at,
        "admin_url": admin_url(consultation_request),
    }


def _staff_link_context(consultation_request, clinic):
    return {
        "clinic": clinic,
        "reference": consultation_request.reference,
        "admin_url": admin_url(consultation_request),
    }


def _staff_moved_context(consultation_request, clinic):
    return {**_staff_link_context(consultation_request, clinic), "moved": True}


def _staff_cancelled_context(consultation_request, clinic):
    return {**_staff_link_context(consultation_request, clinic), "moved": False}


def _not_suitable_context(consultation_request, clinic):
    return {
        "clinic": clinic,
        "first_name": consultation_request.first_name,
        "reference": consultation_request.reference,
    }


@dataclass(frozen=True)
class RequestEmail:
    """A message about a consultation request: what its template is given, and to whom it goes."""

    context: Callable
    to_patient: bool
    # The template's file, when several messages share one.
    file: str = ""


# The messages queued by a template's name, rendered by the worker; a patient's in their language.
REQUEST_EMAILS = {
    "patient_acknowledgement": RequestEmail(_acknowledgement_context, to_patient=True),
    "patient_not_suitable": RequestEmail(_not_suitable_context, to_patient=True),
    "staff_alert": RequestEmail(_staff_alert_context, to_patient=False),
    "staff_cancelled": RequestEmail(_staff_link_context, to_patient=False),
    "staff_now_urgent": RequestEmail(_staff_link_context, to_patient=False),
    "staff_appointment_moved": RequestEmail(
        _staff_moved_context, to_patient=False, file="staff_appointment_changed"
    ),
    "staff_appointment_cancelled": RequestEmail(
        _staff_cancelled_context, to_patient=False, file="staff_appointment_changed"
    ),
}


class RequestGone(Exception):
    """The request a message was to be rendered from no longer exists."""


def outbound_email_render(email: OutboundEmail) -> None:
    """Render a message queued by its template's name from its request, and store what it says."""
    consultation_request = email.consultation_request
    if consultation_request is None:
        raise RequestGone
    kind = REQUEST_EMAILS[email.template]
    email.subject, email.body = render_email(
        kind.file or email.template,
        kind.context(consultation_request, details.get()),
        language=consultation_request.language_code if kind.to_patient else None,
    )
    email.rendered_at = timezone.now()
    email.full_clean(validate_unique=False)
    email.save(update_fields=["subject", "body", "rendered_at"])


def _due():
    return OutboundEmail.objects.select_for_update(skip_locked=True).filter(
        status=OutboundEmail.Status.PENDING, next_attempt_at__lte=Now()
    )


def outbound_emails_render_due(*, limit: int = 100) -> DeliveryReport:
    """Render up to ``limit`` due messages that are still a template's name, one transaction each.

    Each one commits before its first attempt, so that every attempt sends the same words. A
    message that cannot be rendered is deferred (or failed) like one the mail server refused.
    """
    report = DeliveryReport()
    rendered = 0
    while rendered < limit:
        with transaction.atomic():
            email = _due().filter(rendered_at__isnull=True).exclude(template="").order_by("pk").first()
            if email is None:
                break
            try:
                with transaction.atomic():
                    outbound_email_render(email)
            except Exception as error:
                _record_failure(email, error, report)
            rendered += 1
    return report


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
    once and none sends a message another one holds. The messages still a template's name are
    rendered first (``outbound_emails_render_due``), each committed before its first attempt.
    """
    report = outbound_emails_render_due(limit=limit)
    connection = get_connection()
    try:
        while report.handled < limit:
            with transaction.atomic():
                email = (
                    _due()
                    .filter(Q(template="") | Q(rendered_at__isnull=False))
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
