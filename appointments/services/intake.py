"""The clinical intake: the patient's answers saved a page at a time, and its reminder.

The patient reaches the intake by a signed link (``ConsultationRequest.get_intake_url``) after
booking. Each page is saved on the request as it is sent, recorded in the audit trail as the
patient's change; PHQ-9 item 9 above zero makes the request urgent at once and alerts the staff,
as the safety question does while booking. A reminder goes out when a booked consultation is
``INTAKE_REMINDER_HOURS`` away and the intake is not complete, once per request.
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _g  # Not extracted: the audit trail stays English.
from django.views.decorators.debug import sensitive_variables

from clinic import details

from .. import questionnaire, targets
from ..emails import patient_intake_url, render_email
from ..models import Appointment, AuditEvent, ConsultationRequest, OutboundEmail
from .audit import audit_event_record
from .outbox import outbound_email_enqueue, outbound_emails_record

INTAKE_SECTIONS = questionnaire.sections(stage=questionnaire.INTAKE)


@dataclass(frozen=True)
class IntakeSaved:
    consultation_request: ConsultationRequest
    became_urgent: bool


@sensitive_variables()
def consultation_request_intake_save(
    *, consultation_request: ConsultationRequest, section_id: str, answers: Mapping[str, Any]
) -> IntakeSaved:
    """Save one page of the intake on the request, all of it or nothing.

    ``answers`` are the page's column values (``SectionForm.answers()``). The first page saved
    starts the intake and the last one completes it; the flags are worked out again, and an
    answer that reports self-harm (PHQ-9 item 9 above zero) makes the request urgent, with the
    staff alert queued with it.
    """
    numbers = {section.id: number for number, section in enumerate(INTAKE_SECTIONS, start=1)}
    if section_id not in numbers:
        raise ValidationError(f"Not a page of the intake: {section_id}")
    section = INTAKE_SECTIONS[numbers[section_id] - 1]
    columns = {name for question in section.questions for name in question.column_names}
    if set(answers) - columns:
        raise ValidationError("Answers that are not on this page of the intake.")
    now = timezone.now()
    with transaction.atomic():
        locked = ConsultationRequest.objects.select_for_update().get(pk=consultation_request.pk)
        if locked.anonymised_at or not locked.is_open:
            raise ValidationError(gettext("This request is closed."), code="closed")
        for name, value in answers.items():
            setattr(locked, name, value)
        changed = [*answers, "flags", "updated_at"]
        if locked.intake_started_at is None:
            locked.intake_started_at = now
            changed.append("intake_started_at")
        is_last = numbers[section_id] == len(INTAKE_SECTIONS)
        if is_last and locked.intake_completed_at is None:
            locked.intake_completed_at = now
            changed.append("intake_completed_at")
        # Thoughts of self-harm once reported stay flagged, even if the answer is changed later.
        kept = {ConsultationRequest.Flag.SELF_HARM} & set(locked.flags)
        raised = set(locked.answer_flags()) | kept
        locked.flags = [str(flag) for flag in ConsultationRequest.Flag if flag in raised]
        became_urgent = locked.reports_self_harm() and not locked.is_urgent
        if became_urgent:
            locked.is_urgent = True
            urgent_by = targets.respond_by(received=now, urgent=True)
            if locked.respond_by is None or urgent_by < locked.respond_by:
                locked.respond_by = urgent_by
            changed += ["is_urgent", "respond_by"]
        untouched = [field.name for field in locked._meta.concrete_fields if field.name not in changed]
        locked.full_clean(exclude=untouched, validate_unique=False, validate_constraints=False)
        locked.save(update_fields=changed)
        # The page's number, never its topic or an answer: the audit trail carries no health detail.
        description = _g("Clinical intake: page %(number)d of %(count)d saved") % {
            "number": numbers[section_id],
            "count": len(INTAKE_SECTIONS),
        }
        audit_event_record(
            actor=None, action=AuditEvent.Action.CHANGE, consultation_request=locked, description=description
        )
        if "intake_completed_at" in changed:
            audit_event_record(
                actor=None,
                action=AuditEvent.Action.CHANGE,
                consultation_request=locked,
                description=_g("Clinical intake completed"),
            )
        if became_urgent:
            audit_event_record(
                actor=None,
                action=AuditEvent.Action.CHANGE,
                consultation_request=locked,
                description=_g("Marked urgent by an answer in the clinical intake"),
            )
            consultation_request_urgent_alert_enqueue(consultation_request_id=locked.pk)
    return IntakeSaved(consultation_request=locked, became_urgent=became_urgent)


def consultation_request_urgent_alert_enqueue(*, consultation_request_id: int) -> None:
    """Tell the staff that a request has become urgent since it arrived (reference and link only)."""
    pk = consultation_request_id
    outbound_emails_record(
        consultation_request_id=pk,
        messages=[(f"consultation-request:{pk}:now-urgent", "staff_now_urgent", settings.CLINIC_STAFF_EMAIL)],
    )


def intake_reminder_key(consultation_request: ConsultationRequest) -> str:
    return f"intake-reminder:{consultation_request.pk}"


def intake_reminders_enqueue_due(*, now: datetime.datetime | None = None) -> int:
    """Remind each patient whose booked consultation is ``INTAKE_REMINDER_HOURS`` away or nearer and
    whose intake is not complete, once per request; return how many reminders were queued.

    The e-mail names the time and carries the signed intake link, nothing about anyone's health.
    """
    now = now or timezone.now()
    lead = datetime.timedelta(hours=settings.INTAKE_REMINDER_HOURS)
    due = (
        Appointment.objects.filter(
            status=Appointment.Status.BOOKED,
            starts_at__gt=now,
            starts_at__lte=now + lead,
            consultation_request__intake_completed_at__isnull=True,
            consultation_request__anonymised_at__isnull=True,
            consultation_request__status__in=ConsultationRequest.OPEN_STATUSES,
        )
        # Once per request: one query leaves out those already reminded.
        .exclude(
            Exists(
                OutboundEmail.objects.filter(
                    dedupe_key=Concat(
                        Value("intake-reminder:"), Cast(OuterRef("consultation_request_id"), CharField())
                    )
                )
            )
        )
        .select_related("consultation_request")
        .order_by("starts_at")
    )
    due = list(due)
    if not due:
        return 0
    clinic = details.get()
    with transaction.atomic():
        for appointment in due:
            consultation_request = appointment.consultation_request
            subject, body = render_email(
                "intake_reminder",
                {
                    "clinic": clinic,
                    "first_name": consultation_request.first_name,
                    "reference": consultation_request.reference,
                    "starts_at": timezone.localtime(appointment.starts_at),
                    "time_zone": settings.TIME_ZONE,
                    "intake_url": clinic.site_url + patient_intake_url(consultation_request),
                },
                language=consultation_request.language_code,
            )
            outbound_email_enqueue(
                dedupe_key=intake_reminder_key(consultation_request),
                consultation_request=consultation_request,
                to=consultation_request.email,
                subject=subject,
                body=body,
            )
    return len(due)
