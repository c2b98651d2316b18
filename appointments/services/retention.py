"""Retention: closed requests are anonymised once the clinic no longer needs who they were."""

import datetime
import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from .. import questionnaire
from ..models import (
    Appointment,
    AuditEvent,
    AuditSearchTerms,
    ConsultationRequest,
    OutboundEmail,
    StaffNote,
    new_token,
)
from .audit import audit_event_record

logger = logging.getLogger(__name__)

Action = AuditEvent.Action

ANONYMISED_NAME = "Anonymised"
ANONYMISED_NOTE = "(Removed at the end of the retention period.)"
# The answers typed in free text (anything could be in them) go: the questionnaire marks them.
FREE_TEXT_FIELDS = questionnaire.FREE_TEXT_FIELDS


def anonymised_email(pk):
    return f"anonymised-{pk}@anonymised.invalid"


@dataclass
class PurgeReport:
    requests: int = 0
    emails: int = 0
    notes: int = 0
    appointments: int = 0
    open_kept: int = 0


def consultation_request_anonymise(*, consultation_request: ConsultationRequest) -> bool:
    """Strip a closed request of who the patient is, and of every free-text answer and note.

    Kept: the reference, dates, status history, the structured answers (so the clinic can still
    count), the year of birth, the state, and the audit trail. Its e-mails lose their address,
    subject, body and calendar; its notes and appointment details are emptied; its status link
    stops working. Returns False for a request already anonymised.
    """
    with transaction.atomic():
        locked = ConsultationRequest.objects.select_for_update().get(pk=consultation_request.pk)
        if locked.anonymised_at is not None:
            return False
        if locked.is_open:
            raise ValidationError(_("Only a closed request can be anonymised."), code="open")
        locked.first_name = locked.last_name = ANONYMISED_NAME
        locked.email = anonymised_email(locked.pk)
        locked.phone = ""
        locked.contact_times = []
        locked.voicemail_ok = locked.text_ok = False
        if locked.date_of_birth:
            locked.date_of_birth = locked.date_of_birth.replace(month=1, day=1)
        for name in FREE_TEXT_FIELDS:
            setattr(locked, name, "")
        locked.confirmation_token = new_token()
        locked.form_token = new_token()
        locked.anonymised_at = timezone.now()
        locked.save()
        locked.notes.update(text=ANONYMISED_NOTE)
        # A search that found this request may have been for the patient's name.
        AuditSearchTerms.objects.filter(requests=locked).delete()
        # A clinician's reasoning is free text like a note; the outcome and reason stay, for counting.
        locked.decisions.exclude(details="").update(details="")
        locked.status_changes.exclude(note="").update(note="")
        locked.appointments.update(location="", telehealth_instructions="")
        locked.outbound_emails.filter(status=OutboundEmail.Status.PENDING).update(
            status=OutboundEmail.Status.FAILED, last_error="Anonymised"
        )
        locked.outbound_emails.update(to=anonymised_email(locked.pk), subject="", body="", ics="")
        audit_event_record(
            actor=None,
            actor_label="retention",
            action=Action.ANONYMISE,
            consultation_request=locked,
            description=_g("Anonymised at the end of the retention period"),
        )
    return True


def consultation_requests_purge_closed(
    *, older_than: datetime.timedelta, dry_run: bool = False, now: datetime.datetime | None = None
) -> PurgeReport:
    """Anonymise every request closed longer ago than ``older_than``; count what it touched.

    Open requests are never touched, however old. A request closed before its closing time was
    recorded counts from its last update. With ``dry_run``, count only.
    """
    cutoff = (now or timezone.now()) - older_than
    due = (
        ConsultationRequest.objects.exclude(status__in=ConsultationRequest.OPEN_STATUSES)
        .filter(anonymised_at__isnull=True)
        .alias(closed=Coalesce("closed_at", "updated_at"))
        .filter(closed__lt=cutoff)
    )
    report = PurgeReport(
        requests=due.count(),
        emails=OutboundEmail.objects.filter(consultation_request__in=due).count(),
        notes=StaffNote.objects.filter(consultation_request__in=due).count(),
        appointments=Appointment.objects.filter(consultation_request__in=due).count(),
        open_kept=ConsultationRequest.objects.open().filter(created_at__lt=cutoff).count(),
    )
    if not dry_run:
        for pk in list(due.values_list("pk", flat=True)):
            consultation_request_anonymise(consultation_request=ConsultationRequest(pk=pk))
        # Search terms that found nothing, or only open requests, go after the same period.
        AuditSearchTerms.objects.filter(event__created_at__lt=cutoff).delete()
        logger.info("Retention: anonymised %d closed consultation requests", report.requests)
    return report
