"""The e-mail outbox's delivery, with retries and backoff, and the rendering of its messages.

Messages are queued by the services (``appointments.services.outbox``), rendered when queued,
and sent by ``manage.py mail_worker``, a separate process:
a request is never lost to a mail server that is down, and no web request waits on SMTP.
Neither the patient's nor the staff's message carries a health detail: their templates are
given only the fields they may show.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models.functions import Now
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from clinic import details

from .models import ConsultationRequest, OutboundEmail

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
