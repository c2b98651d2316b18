"""Everything that changes a consultation request, and the audit record of each change.

Creating a request; moving its status (the one path for the admin's form, its bulk actions and
the patient's cancel link); staff notes and assignment; booking, moving and cancelling its
consultation; recording views and exports; anonymising it when its retention period ends.
"""

import datetime
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from . import emails
from .models import (
    Appointment,
    AuditEvent,
    ConsultationRequest,
    OutboundEmail,
    StaffNote,
    StatusChange,
    new_reference,
    new_token,
)

logger = logging.getLogger(__name__)

Request = ConsultationRequest
Flag = ConsultationRequest.Flag

# Each clinician flag, and the answers that raise it. Flags are for staff only.
FLAG_RULES = [
    (Flag.SELF_HARM, lambda r: r.is_urgent),
    (Flag.MANIA, lambda r: r.episode in {Request.Episode.MANIC, Request.Episode.MIXED}),
    (Flag.PSYCHOSIS, lambda r: r.psychosis_history),
    (Flag.CARDIOVASCULAR, lambda r: r.high_blood_pressure or r.heart_disease_or_stroke),
    (Flag.PREGNANCY, lambda r: r.pregnant_or_breastfeeding),
    (Flag.SUBSTANCE_USE, lambda r: r.substance_use),
    (Flag.SEIZURES, lambda r: r.seizures),
    (Flag.LIVER, lambda r: r.liver_disease),
    (Flag.BLADDER, lambda r: r.bladder_problems),
    (Flag.EYE_PRESSURE, lambda r: r.raised_eye_pressure),
    (Flag.PHQ9_SEVERE, lambda r: phq9_total(r) is not None and phq9_total(r) >= 20),
]
# A new reference is drawn when one collides; with about 40 bits each, a second draw is already rare.
REFERENCE_ATTEMPTS = 5


def phq9_total(consultation_request: ConsultationRequest) -> int | None:
    """The PHQ-9 score of answers not yet saved (the database computes the stored one)."""
    answers = consultation_request.phq9_answers
    return None if None in answers else sum(answers)


def consultation_request_is_urgent(*, consultation_request: ConsultationRequest) -> bool:
    """Current thoughts of self-harm: the direct question, or PHQ-9 item 9 above zero."""
    return bool(consultation_request.self_harm_thoughts or (consultation_request.phq9_9 or 0) > 0)


def consultation_request_flags(*, consultation_request: ConsultationRequest) -> list[str]:
    """The clinician flags the answers raise, in a stable order."""
    return [str(flag) for flag, applies in FLAG_RULES if applies(consultation_request)]


def _queue_emails(pk):
    def queue_consultation_request_emails():
        emails.consultation_request_emails_enqueue(consultation_request_id=pk)

    return queue_consultation_request_emails


def _queue_cancelled_email(pk):
    def queue_cancelled_email():
        emails.consultation_request_cancelled_email_enqueue(consultation_request_id=pk)

    return queue_cancelled_email


@sensitive_variables()
def consultation_request_create(
    *, form_token: str, answers: Mapping[str, Any], source_article_slug: str = ""
) -> tuple[ConsultationRequest, bool]:
    """Save a patient's request with its urgency and flags, and queue its two e-mails.

    ``form_token`` is the one-time token of the form the patient sent: sending the same form
    twice (a double click, a resubmit) returns the first request and ``created=False``.
    """
    existing = ConsultationRequest.objects.filter(form_token=form_token).first()
    if existing is not None:
        return existing, False

    consultation_request = ConsultationRequest(
        form_token=form_token, source_article_slug=source_article_slug, **answers
    )
    consultation_request.is_urgent = consultation_request_is_urgent(consultation_request=consultation_request)
    consultation_request.flags = consultation_request_flags(consultation_request=consultation_request)
    consultation_request.reference = new_reference()
    # Uniqueness is the database's job (a second query could not close the race anyway), and
    # clean() checks in Python what the check constraints enforce in PostgreSQL.
    consultation_request.full_clean(validate_unique=False, validate_constraints=False)

    with transaction.atomic():
        for attempt in range(1, REFERENCE_ATTEMPTS + 1):
            try:
                with transaction.atomic():
                    consultation_request.save(force_insert=True)
                break
            except IntegrityError:
                # Either the same form arrived twice at once (the other copy won), or a
                # random reference or token collided: find the first, or draw again.
                existing = ConsultationRequest.objects.filter(form_token=form_token).first()
                if existing is not None:
                    return existing, False
                if attempt == REFERENCE_ATTEMPTS:
                    raise
                consultation_request.pk = None
                consultation_request.reference = new_reference()
                consultation_request.confirmation_token = new_token()
        # Robust: a failure to queue the e-mails must not fail the patient's saved request
        # (the mail worker queues any that are missing). A named function, not a partial:
        # Django logs a robust callback's failure by its __qualname__.
        transaction.on_commit(_queue_emails(consultation_request.pk), robust=True)
    logger.info("Consultation request %s saved", consultation_request.pk)
    return consultation_request, True


Status = ConsultationRequest.Status
Action = AuditEvent.Action
# Leaving "scheduled" for anything but "completed" cancels the booked consultation.
KEEPS_APPOINTMENT = {Status.SCHEDULED, Status.COMPLETED}
PATIENT = "patient"


# --- The audit trail ---------------------------------------------------------------------------


def audit_event_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    description: str,
    consultation_request: ConsultationRequest | None = None,
    actor_label: str = "",
) -> AuditEvent:
    """Add one event to the audit trail: who (``None`` is the patient), what, which request.

    ``description`` says what happened in a few words, never a health detail or contact detail.
    """
    event = AuditEvent(
        actor=actor,
        actor_label=actor_label or (actor.get_username() if actor else PATIENT),
        action=action,
        consultation_request=consultation_request,
        reference=consultation_request.reference if consultation_request else "",
        description=str(description)[:300],
    )
    # The links are known to exist; checking them would cost a query each.
    event.full_clean(exclude=["actor", "consultation_request"])
    event.save()
    return event


def consultation_request_record_view(
    *, consultation_request: ConsultationRequest, by: AbstractBaseUser, with_screening: bool
) -> AuditEvent:
    """Record that a staff member opened a request's page, and whether it showed screening answers."""
    if with_screening:
        description = _g("Opened the request, screening answers included")
    else:
        description = _g("Opened the request (contact details and status)")
    return audit_event_record(
        actor=by, action=Action.VIEW, consultation_request=consultation_request, description=description
    )


def consultation_requests_record_export(
    *, requests: Iterable[tuple[int, str]], by: AbstractBaseUser, with_screening: bool
) -> int:
    """Record one export event per exported request (``requests``: pairs of primary key and reference)."""
    if with_screening:
        description = _g("Exported as CSV, screening answers included")
    else:
        description = _g("Exported as CSV (contact details and status)")
    events = [
        AuditEvent(
            actor=by,
            actor_label=by.get_username(),
            action=Action.EXPORT,
            consultation_request_id=pk,
            reference=reference,
            description=description,
        )
        for pk, reference in requests
    ]
    AuditEvent.objects.bulk_create(events, batch_size=1000)
    return len(events)


# --- Status ------------------------------------------------------------------------------------


def consultation_request_status_refusal(
    *, consultation_request: ConsultationRequest, status: str
) -> str | None:
    """Why the request cannot move to ``status`` now, in words for staff; ``None`` if it can."""
    labels = dict(Status.choices)
    if status not in labels:
        return _g("“%(status)s” is not a status.") % {"status": status}
    current = consultation_request.status
    if status == current:
        return None
    names = {"current": labels[current], "target": labels[status]}
    if not consultation_request.can_move_to(status):
        allowed = [
            str(labels[s]) for s in Status.values if s in ConsultationRequest.ALLOWED_TRANSITIONS[current]
        ]
        if not allowed:
            return _g("A request that is “%(current)s” is closed: it cannot move to “%(target)s”.") % names
        return _g(
            "A request that is “%(current)s” cannot move to “%(target)s”. It can move to: %(allowed)s."
        ) % {**names, "allowed": ", ".join(allowed)}
    if (
        status == Status.SCHEDULED
        and not consultation_request.appointments.filter(status=Appointment.Status.BOOKED).exists()
    ):
        return _g("A request is marked scheduled by booking its consultation: enter a date and time.")
    return None


def consultation_request_set_status(
    *,
    consultation_request: ConsultationRequest,
    status: str,
    by: AbstractBaseUser | None,
    note: str = "",
) -> ConsultationRequest:
    """Move a request to ``status`` if the workflow allows it, and record who moved it and when.

    The one path for every status change: the admin's form and bulk actions, scheduling, and the
    patient's cancel link (``by=None``). The allowed moves are ``ALLOWED_TRANSITIONS`` on the
    model; any other raises ``ValidationError`` with a message that says why. Moving a
    scheduled request to anything but completed cancels its booked consultation, which
    e-mails the patient the calendar cancellation. Moving to the current status does nothing.
    """
    with transaction.atomic():
        locked = ConsultationRequest.objects.select_for_update().get(pk=consultation_request.pk)
        if locked.status == status:
            return locked
        refusal = consultation_request_status_refusal(consultation_request=locked, status=status)
        if refusal:
            raise ValidationError(refusal, code="invalid_transition")
        previous = locked.status
        locked.status = status
        locked.closed_at = None if locked.is_open else timezone.now()
        locked.save(update_fields=["status", "closed_at", "updated_at"])
        change = StatusChange(
            consultation_request=locked,
            from_status=previous,
            to_status=status,
            source=StatusChange.Source.PATIENT if by is None else StatusChange.Source.STAFF,
            changed_by=by,
            note=note,
        )
        change.full_clean(exclude=["consultation_request", "changed_by"])
        change.save()
        labels = dict(Status.choices)
        audit_event_record(
            actor=by,
            action=Action.STATUS,
            consultation_request=locked,
            description=_g("Status: %(from)s → %(to)s") % {"from": labels[previous], "to": labels[status]},
        )
        if status not in KEEPS_APPOINTMENT:
            for appointment in locked.appointments.select_for_update().filter(
                status=Appointment.Status.BOOKED
            ):
                _appointment_cancel(appointment=appointment, consultation_request=locked, by=by)
        if status == Status.CANCELLED_BY_PATIENT and by is None:
            transaction.on_commit(_queue_cancelled_email(locked.pk), robust=True)
    logger.info("Consultation request %s moved from %s to %s", locked.pk, previous, status)
    return locked


def consultation_request_cancel_by_patient(
    *, consultation_request: ConsultationRequest
) -> ConsultationRequest:
    """The patient cancels their request from the signed link in their e-mail; staff are told."""
    try:
        return consultation_request_set_status(
            consultation_request=consultation_request, status=Status.CANCELLED_BY_PATIENT, by=None
        )
    except ValidationError:
        raise ValidationError(
            _("This request can no longer be cancelled online. Please call us instead."),
            code="invalid_transition",
        ) from None


# --- Notes and assignment ----------------------------------------------------------------------


def staff_note_create(
    *,
    consultation_request: ConsultationRequest,
    author: AbstractBaseUser,
    text: str,
    clinicians_only: bool = False,
) -> StaffNote:
    """Add a note to the request's thread, signed by ``author`` and timestamped. Notes are never edited."""
    note = StaffNote(
        consultation_request=consultation_request,
        author=author,
        text=text.strip(),
        clinicians_only=clinicians_only,
    )
    note.full_clean(exclude=["consultation_request", "author"])
    with transaction.atomic():
        note.save()
        audit_event_record(
            actor=author,
            action=Action.NOTE,
            consultation_request=consultation_request,
            description=_g("Added a note for clinicians") if clinicians_only else _g("Added a note"),
        )
    return note


def consultation_request_assign(
    *,
    consultation_request: ConsultationRequest,
    assignee: AbstractBaseUser | None,
    by: AbstractBaseUser,
) -> ConsultationRequest:
    """Give the request to a staff member (or to nobody, with ``assignee=None``)."""
    if assignee is not None and not (assignee.is_active and assignee.is_staff):
        raise ValidationError(_("Assign the request to an active staff member."), code="not_staff")
    with transaction.atomic():
        locked = ConsultationRequest.objects.select_for_update().get(pk=consultation_request.pk)
        if locked.assigned_to_id == (assignee.pk if assignee else None):
            return locked
        locked.assigned_to = assignee
        locked.save(update_fields=["assigned_to", "updated_at"])
        if assignee is None:
            description = _g("Unassigned")
        else:
            description = _g("Assigned to %(name)s") % {"name": assignee.get_username()}
        audit_event_record(
            actor=by, action=Action.CHANGE, consultation_request=locked, description=description
        )
    return locked


# --- Scheduling --------------------------------------------------------------------------------


def _local(moment: datetime.datetime) -> str:
    """A time as staff read it: in the clinic's time zone, with the zone's abbreviation."""
    return date_format(timezone.localtime(moment), "Y-m-d H:i T")


def appointment_schedule(
    *,
    consultation_request: ConsultationRequest,
    starts_at: datetime.datetime,
    duration_minutes: int,
    modality: str,
    location: str = "",
    telehealth_instructions: str = "",
    by: AbstractBaseUser,
) -> Appointment:
    """Book the request's consultation, or change the booked one; e-mail the patient an invitation.

    A first booking moves the request to scheduled and sends a new calendar event; a change sends
    an update of the same event (same UID, next SEQUENCE); saving the same details sends nothing.
    ``starts_at`` must be timezone-aware; it is stored in UTC. The invitation is written to the
    outbox in this transaction, so it is sent if and only if the booking is saved.
    """
    if timezone.is_naive(starts_at):
        raise ValueError("starts_at must be timezone-aware")
    if modality == Appointment.Modality.TELEHEALTH:
        location = ""
    else:
        telehealth_instructions = ""
    details = (starts_at, duration_minutes, modality, location.strip(), telehealth_instructions.strip())
    with transaction.atomic():
        locked = ConsultationRequest.objects.select_for_update().get(pk=consultation_request.pk)
        if not locked.is_open:
            raise ValidationError(
                _("This request is closed (“%(status)s”), so it cannot be scheduled.")
                % {"status": locked.get_status_display()},
                code="closed",
            )
        appointment = locked.appointments.select_for_update().filter(status=Appointment.Status.BOOKED).first()
        booking = appointment is None
        if booking:
            appointment = Appointment(consultation_request=locked, scheduled_by=by)
        else:
            current = (
                appointment.starts_at,
                appointment.duration_minutes,
                appointment.modality,
                appointment.location,
                appointment.telehealth_instructions,
            )
            if current == details:
                return appointment
        if starts_at <= timezone.now() and (booking or starts_at != appointment.starts_at):
            raise ValidationError(_("Choose a date and time in the future."), code="past")
        (
            appointment.starts_at,
            appointment.duration_minutes,
            appointment.modality,
            appointment.location,
            appointment.telehealth_instructions,
        ) = details
        if not booking:
            appointment.sequence += 1
        appointment.full_clean(exclude=["consultation_request", "scheduled_by"])
        appointment.save()
        if locked.status != Status.SCHEDULED:
            consultation_request_set_status(consultation_request=locked, status=Status.SCHEDULED, by=by)
        if booking:
            description = _g("Booked the consultation for %(when)s")
        else:
            description = _g("Changed the consultation: now %(when)s")
        audit_event_record(
            actor=by,
            action=Action.SCHEDULE,
            consultation_request=locked,
            description=description % {"when": _local(starts_at)},
        )
        appointment.consultation_request = locked
        emails.appointment_email_enqueue(appointment=appointment)
    logger.info("Appointment %s for consultation request %s saved", appointment.pk, locked.pk)
    return appointment


def _appointment_cancel(*, appointment, consultation_request, by):
    appointment.status = Appointment.Status.CANCELLED
    appointment.sequence += 1
    appointment.save(update_fields=["status", "sequence", "updated_at"])
    audit_event_record(
        actor=by,
        action=Action.SCHEDULE,
        consultation_request=consultation_request,
        description=_g("Cancelled the consultation of %(when)s") % {"when": _local(appointment.starts_at)},
    )
    appointment.consultation_request = consultation_request
    emails.appointment_email_enqueue(appointment=appointment)


def appointment_cancel(*, appointment: Appointment, by: AbstractBaseUser) -> Appointment:
    """Cancel a booked consultation and send the patient the cancellation of the calendar event.

    A request that was scheduled goes back to contacted: to be booked again, or closed.
    """
    with transaction.atomic():
        # The request first, as every other service locks them.
        locked_request = ConsultationRequest.objects.select_for_update().get(
            pk=appointment.consultation_request_id
        )
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if locked.status == Appointment.Status.CANCELLED:
            return locked
        _appointment_cancel(appointment=locked, consultation_request=locked_request, by=by)
        if locked_request.status == Status.SCHEDULED:
            consultation_request_set_status(
                consultation_request=locked_request,
                status=Status.CONTACTED,
                by=by,
                note=_g("Consultation cancelled; to be booked again"),
            )
    return locked


# --- Retention ---------------------------------------------------------------------------------

ANONYMISED_NAME = "Anonymised"
ANONYMISED_NOTE = "(Removed at the end of the retention period.)"
# The answers typed in free text: anything could be in them, so they go.
FREE_TEXT_FIELDS = [
    "concern_other",
    "treatments_other",
    "current_medications",
    "medical_history_other",
    "insurance_carrier",
    "heard_about_other",
]


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
        locked.date_of_birth = locked.date_of_birth.replace(month=1, day=1)
        for name in FREE_TEXT_FIELDS:
            setattr(locked, name, "")
        locked.confirmation_token = new_token()
        locked.form_token = new_token()
        locked.anonymised_at = timezone.now()
        locked.save()
        locked.notes.update(text=ANONYMISED_NOTE)
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
        logger.info("Retention: anonymised %d closed consultation requests", report.requests)
    return report


def retention_period() -> datetime.timedelta:
    return datetime.timedelta(days=settings.CONSULTATION_RETENTION_DAYS)
