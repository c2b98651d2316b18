"""The one owner of a consultation's life: booking it, moving it and cancelling it, whoever asks.

``appointment_book``, ``appointment_move`` and ``appointment_cancel`` take a ``source`` (the staff
or the patient) and, for a move or a cancellation, a ``reason`` from a fixed list. Each locks the
request, checks it is open, checks the clinician's licence (``licence_refusal``, the rule and its
message written once), saves the appointment, moves the request's status through
``consultation_request_set_status`` in the same transaction (booked: scheduled; cancelled: back to
contacted, or cancelled with the request), records the change in the audit trail and queues the
patient's calendar e-mail as an outbox row.

A time is one of the open times (``kind`` given: the clinician's hours, their other appointments
and the kind's buffers decide; a race is settled by the exclusion constraint, and the loser gets
``SlotTaken`` with the nearest open times), or one staff type in by hand (``duration_minutes``
given: inside the clinician's hours unless a clinic admin books it outside them on purpose).
"""

import datetime
import logging
from dataclasses import dataclass, fields
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _g  # Not extracted: the audit trail stays English.
from django.utils.translation import gettext_lazy as _

from clinic import details as clinic_details

from ..models import Appointment, AuditEvent, Clinician, ConsultationKind, ConsultationRequest, StatusChange
from ..roles import may_book_outside_hours
from ..slots import Slot, nearest_open_slots, slot_is_open, within_working_hours
from . import outbox
from .audit import audit_event_record
from .patient_changes import clinician_for_time, patient_change_refusal, patient_open_slots
from .reminders import appointment_reminders_withdraw
from .requests import sqlstate

logger = logging.getLogger(__name__)

Status = ConsultationRequest.Status
Action = AuditEvent.Action
EXCLUSION_VIOLATION = "23P01"

DEFAULT_TELEHEALTH_INSTRUCTIONS = _(
    "The clinic will e-mail you the video link before the consultation. "
    "Join from a quiet, private place a few minutes early."
)

# Leaving "scheduled" for anything but "completed" cancels the booked consultation.
KEEPS_APPOINTMENT = {Status.SCHEDULED, Status.COMPLETED}

# ``appointment_move`` without a clinician: the consultation keeps the one it has.
KEEP_CLINICIAN = object()


class Source(models.TextChoices):
    """Who asks for the change: staff (``by`` names them) or the patient (from Send or their link)."""

    STAFF = "staff", _("Staff")
    PATIENT = "patient", _("The patient")


class MoveReason(models.TextChoices):
    """Why the clinic moved a patient's consultation: a choice, so that the e-mail says it plainly
    and no free text (or health detail) reaches it. The patient's sentence for each is in
    ``templates/appointments/email/appointment_updated.txt``, in their language."""

    CLINICIAN_UNAVAILABLE = "clinician_unavailable", _("The clinician is not available then")
    PATIENT_ASKED = "patient_asked", _("The patient asked for another time")
    CLINIC = "clinic", _("The clinic had to change its arrangements")


class ChangeReason(models.TextChoices):
    """Why the patient changes it: a choice, not free text, so that no health detail is written down."""

    TIME = "time", _("The time no longer suits me")
    ARRANGEMENTS = "arrangements", _("I have made other arrangements")
    OTHER = "other", _("Another reason")


class SlotTaken(ValidationError):
    """The chosen time is not open (any more): someone else booked it first. Carries the nearest open times."""

    def __init__(self, *, nearest: list[Slot]):
        super().__init__(
            _("That time has just been taken. Please choose another; the nearest open times are shown."),
            code="slot_taken",
        )
        self.nearest = nearest


@dataclass(frozen=True)
class AppointmentDetails:
    """When, how long, how and with whom a consultation is held, as stored on the appointment."""

    starts_at: datetime.datetime
    duration_minutes: int
    modality: str
    location: str
    telehealth_instructions: str
    clinician: Clinician | None
    outside_hours_approved: bool

    @classmethod
    def of(cls, appointment: Appointment) -> "AppointmentDetails":
        return cls(**{field.name: getattr(appointment, field.name) for field in fields(cls)})

    def apply_to(self, appointment: Appointment) -> None:
        for field in fields(self):
            setattr(appointment, field.name, getattr(self, field.name))


def is_exclusion_violation(error: IntegrityError) -> bool:
    """Whether PostgreSQL refused a row because it overlapped another (SQLSTATE 23P01)."""
    return sqlstate(error) == EXCLUSION_VIOLATION


def local_time(moment: datetime.datetime) -> str:
    """A time as staff read it: in the clinic's time zone, with the zone's abbreviation."""
    return date_format(timezone.localtime(moment), "Y-m-d H:i T")


def licence_refusal(*, clinician: Clinician, state: str) -> ValidationError | None:
    """Why ``clinician`` may not see a patient from ``state``; None when they may."""
    if clinician.is_active and state in clinician.licensed_states:
        return None
    return ValidationError(
        _("This clinician is not licensed in the patient's state (%(state)s).") % {"state": state},
        code="licence",
    )


def _check_source(source: str, by: AbstractBaseUser | None) -> None:
    if source not in Source.values:
        raise ValueError(f"Not a source: {source}")
    if (source == Source.STAFF) != (by is not None):
        raise ValueError("a staff change names its staff member (by), a patient's none")


def _check_open_time(*, clinician: Clinician, kind: ConsultationKind, modality: str, state: str) -> None:
    if not kind.offers(modality):
        raise ValidationError(
            _("This kind of consultation is not held that way (%(modality)s).")
            % {"modality": Appointment.Modality(modality).label},
            code="modality",
        )
    if not clinician.is_active or not clinician.kinds.filter(pk=kind.pk).exists():
        raise ValidationError(_("This clinician does not take this kind of consultation."), code="kind")
    if refusal := licence_refusal(clinician=clinician, state=state):
        raise refusal


def _instructions(clinician: Clinician | None) -> str:
    return (clinician and clinician.telehealth_instructions) or str(DEFAULT_TELEHEALTH_INSTRUCTIONS)


def _hours_approval(
    *,
    clinician: Clinician | None,
    starts_at: datetime.datetime,
    duration_minutes: int,
    outside_hours: bool,
    by: AbstractBaseUser | None,
) -> bool:
    """Whether a time typed in is booked outside the clinician's hours on purpose; refuses it otherwise.

    A time inside the hours needs no approval, ticked or not: it stays an ordinary booking.
    """
    if clinician is None:
        return False
    ends_at = starts_at + datetime.timedelta(minutes=duration_minutes)
    if within_working_hours(clinician=clinician, starts_at=starts_at, ends_at=ends_at):
        return False
    if not outside_hours:
        raise ValidationError(
            _(
                "That time is outside %(name)s's working hours. Choose an open time, or (clinic admins "
                "only) tick “Book outside this clinician's hours”."
            )
            % {"name": clinician.display_name},
            code="outside_hours",
        )
    if not may_book_outside_hours(by):
        raise ValidationError(
            _("Only a clinic admin may book a time outside a clinician's hours."), code="override_refused"
        )
    return True


def _typed_details(
    *,
    starts_at: datetime.datetime,
    duration_minutes: int,
    modality: str,
    location: str,
    telehealth_instructions: str,
    clinician: Clinician | None,
    outside_hours: bool,
    approved: bool,
    by: AbstractBaseUser | None,
) -> AppointmentDetails:
    """The details of a time staff type in, the hours checked (an approval stands while the time,
    length and clinician do)."""
    telehealth = modality == Appointment.Modality.TELEHEALTH
    return AppointmentDetails(
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        modality=modality,
        location="" if telehealth else location.strip(),
        telehealth_instructions=telehealth_instructions.strip() if telehealth else "",
        clinician=clinician,
        outside_hours_approved=approved
        or _hours_approval(
            clinician=clinician,
            starts_at=starts_at,
            duration_minutes=duration_minutes,
            outside_hours=outside_hours,
            by=by,
        ),
    )


def _taken(*, kind, around, now, clinician=None, state=None) -> SlotTaken:
    return SlotTaken(
        nearest=nearest_open_slots(kind=kind, around=around, now=now, clinician=clinician, state=state)
    )


def _lock_open_request(pk: int) -> ConsultationRequest:
    locked = ConsultationRequest.objects.select_for_update().get(pk=pk)
    if not locked.is_open:
        raise ValidationError(
            _("This request is closed (“%(status)s”), so it cannot be booked.")
            % {"status": locked.get_status_display()},
            code="closed",
        )
    return locked


def _save(appointment: Appointment, *, typed: bool, taken) -> None:
    """Save the appointment; an overlap PostgreSQL refuses is ``taken()`` for an open time."""
    try:
        with transaction.atomic():
            appointment.save()
    except IntegrityError as error:
        if not is_exclusion_violation(error):
            raise
        if not typed:
            logger.info("An open time was taken first by another booking; offered the nearest ones")
            raise taken() from error
        raise ValidationError(
            _("The clinician already has an appointment at that time."), code="slot_taken"
        ) from error


def appointment_book(
    *,
    consultation_request: ConsultationRequest,
    source: str,
    by: AbstractBaseUser | None = None,
    starts_at: datetime.datetime,
    modality: str,
    clinician: Clinician | None = None,
    kind: ConsultationKind | None = None,
    duration_minutes: int | None = None,
    location: str = "",
    telehealth_instructions: str = "",
    outside_hours: bool = False,
    now: datetime.datetime | None = None,
) -> Appointment:
    """Book the request's consultation, mark the request scheduled and e-mail the patient an invitation.

    With ``kind``, the time must be one of ``clinician``'s open times for it (the patient's Send,
    or staff's open-times panel); raises ``SlotTaken`` with the nearest open times when it is not
    or another booking took it first. Without, staff type the time in (``duration_minutes``,
    ``location``, ``telehealth_instructions``; ``clinician`` may be None), inside the clinician's
    hours unless ``outside_hours`` (clinic admins only). ``ValidationError`` for anything refused.
    """
    _check_source(source, by)
    if timezone.is_naive(starts_at):
        raise ValueError("starts_at must be timezone-aware")
    if (kind is None) == (duration_minutes is None):
        raise ValueError("an open time gives its kind, a time typed in its length")
    typed = kind is None
    if typed and source == Source.PATIENT:
        raise ValueError("a patient books one of the open times")
    if not typed and clinician is None:
        raise ValueError("an open time is a clinician's")
    now = now or timezone.now()
    state = consultation_request.state
    if typed:
        if clinician is not None and (refusal := licence_refusal(clinician=clinician, state=state)):
            raise refusal
        details = _typed_details(
            starts_at=starts_at,
            duration_minutes=duration_minutes,
            modality=modality,
            location=location,
            telehealth_instructions=telehealth_instructions,
            clinician=clinician,
            outside_hours=outside_hours,
            approved=False,
            by=by,
        )
        if Appointment.start_is_past(starts_at):
            raise ValidationError(Appointment.PAST_START_MESSAGE, code="past")
    else:
        _check_open_time(clinician=clinician, kind=kind, modality=modality, state=state)
        if not slot_is_open(kind=kind, clinician=clinician, starts_at=starts_at, now=now):
            raise _taken(kind=kind, around=starts_at, now=now, clinician=clinician)
        telehealth = modality == Appointment.Modality.TELEHEALTH
        details = AppointmentDetails(
            starts_at=starts_at,
            duration_minutes=kind.duration_minutes,
            modality=modality,
            location="" if telehealth else clinic_details.get().address,
            telehealth_instructions=_instructions(clinician) if telehealth else "",
            clinician=clinician,
            outside_hours_approved=False,
        )
    with transaction.atomic():
        locked = _lock_open_request(consultation_request.pk)
        if locked.appointments.filter(status=Appointment.Status.BOOKED).exists():
            raise ValidationError(
                _("This request already has a booked appointment: move that one instead."), code="booked"
            )
        appointment = Appointment(consultation_request=locked, kind=kind, scheduled_by=by)
        details.apply_to(appointment)
        if kind is not None:
            appointment.buffer_before_minutes = kind.buffer_before_minutes
            appointment.buffer_after_minutes = kind.buffer_after_minutes
        # For an open time the database decides overlaps (below): checking here would only race it.
        appointment.full_clean(exclude=["consultation_request", "scheduled_by"], validate_constraints=typed)
        _save(
            appointment,
            typed=typed,
            taken=lambda: _taken(kind=kind, around=starts_at, now=now, clinician=clinician),
        )
        if locked.status != Status.SCHEDULED:
            consultation_request_set_status(consultation_request=locked, status=Status.SCHEDULED, by=by)
        if typed:
            description = _g("Booked the consultation for %(when)s") % {"when": local_time(starts_at)}
        else:
            description = _g("Booked %(kind)s with %(clinician)s for %(when)s") % {
                "kind": kind.name,
                "clinician": clinician.display_name,
                "when": local_time(starts_at),
            }
        audit_event_record(
            actor=by, action=Action.SCHEDULE, consultation_request=locked, description=description
        )
        outbox.appointment_email_enqueue(appointment=appointment)
    logger.info("Appointment %s booked for consultation request %s", appointment.pk, locked.pk)
    return appointment


def appointment_move(
    *,
    appointment: Appointment,
    source: str,
    by: AbstractBaseUser | None = None,
    starts_at: datetime.datetime,
    reason: str = "",
    clinician: Any = KEEP_CLINICIAN,
    kind: ConsultationKind | None = None,
    duration_minutes: int | None = None,
    modality: str | None = None,
    location: str = "",
    telehealth_instructions: str = "",
    outside_hours: bool = False,
    now: datetime.datetime | None = None,
) -> Appointment:
    """Move a booked consultation; the patient gets an update of the same calendar event (same
    UID, next SEQUENCE) and the reminders queued for the old time are withdrawn.

    To an open time by default: its kind's (``kind`` gives one to an appointment typed in by
    hand), with ``clinician`` or the same one; ``SlotTaken`` with the nearest open times when it
    is not open or was just taken. Staff give a ``MoveReason`` the e-mail words for the patient.
    The patient (``source`` patient) chooses a time, not a clinician: theirs when free then,
    otherwise another who is; until the cut-off, with a ``ChangeReason`` kept in the audit trail,
    and the staff are told. With ``duration_minutes`` staff change a time typed in by hand (its
    length, ``modality``, ``location`` and instructions too); saving the same details does nothing.
    """
    _check_source(source, by)
    if timezone.is_naive(starts_at):
        raise ValueError("starts_at must be timezone-aware")
    typed = duration_minutes is not None
    patient = source == Source.PATIENT
    if typed and patient:
        raise ValueError("a patient moves to one of the open times")
    reasons = ChangeReason if patient else MoveReason
    if reason and reason not in reasons.values:
        raise ValidationError(_("Choose why the consultation is moved."), code="reason")
    now = now or timezone.now()
    state = appointment.consultation_request.state
    if clinician is KEEP_CLINICIAN:
        clinician = appointment.clinician
    if patient:
        patient_change_refusal(appointment=appointment, now=now)
        day = timezone.localtime(starts_at).date()
        slots = patient_open_slots(appointment=appointment, now=now, first_day=day, days=1)
        clinician_id = clinician_for_time(slots=slots, starts_at=starts_at, current=appointment.clinician_id)
        if clinician_id is None:
            raise _taken(kind=appointment.kind, around=starts_at, now=now, state=state)
        clinician = Clinician.objects.get(pk=clinician_id)

    def taken():
        if patient:
            return _taken(kind=kind, around=starts_at, now=now, state=state)
        return _taken(kind=kind, around=starts_at, now=now, clinician=clinician)

    if typed:
        if (
            clinician is not None
            and clinician != appointment.clinician
            and (refusal := licence_refusal(clinician=clinician, state=state))
        ):
            raise refusal
    else:
        kind = appointment.kind or kind
        if kind is None:
            raise ValidationError(
                _(
                    "This appointment was typed in by hand: choose a kind of consultation to move it to an "
                    "open time."
                ),
                code="manual",
            )
        _check_open_time(clinician=clinician, kind=kind, modality=appointment.modality, state=state)
        if not slot_is_open(
            kind=kind, clinician=clinician, starts_at=starts_at, now=now, ignore_appointment=appointment
        ):
            raise taken()
    with transaction.atomic():
        locked_request = _lock_open_request(appointment.consultation_request_id)
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if locked.status != Appointment.Status.BOOKED:
            raise ValidationError(
                _("This appointment is cancelled, so it cannot be moved."), code="cancelled"
            )
        previous = AppointmentDetails.of(locked)
        if typed:
            # An admin's approval stands while the time, length and clinician do.
            approved = locked.outside_hours_approved and (
                previous.starts_at,
                previous.duration_minutes,
                previous.clinician,
            ) == (starts_at, duration_minutes, clinician)
            details = _typed_details(
                starts_at=starts_at,
                duration_minutes=duration_minutes,
                modality=modality,
                location=location,
                telehealth_instructions=telehealth_instructions,
                clinician=clinician,
                outside_hours=outside_hours,
                approved=approved,
                by=by,
            )
            if details == previous:
                return locked
            if Appointment.start_is_past(starts_at, booked_starts_at=previous.starts_at):
                raise ValidationError(Appointment.PAST_START_MESSAGE, code="past")
            details.apply_to(locked)
        else:
            if (previous.starts_at, previous.clinician, locked.kind) == (starts_at, clinician, kind):
                return locked
            if locked.modality == Appointment.Modality.TELEHEALTH and previous.clinician != clinician:
                locked.telehealth_instructions = _instructions(clinician)
            if locked.kind is None:
                locked.kind = kind
                locked.duration_minutes = kind.duration_minutes
                locked.buffer_before_minutes = kind.buffer_before_minutes
                locked.buffer_after_minutes = kind.buffer_after_minutes
            locked.starts_at = starts_at
            locked.clinician = clinician
            # An open time is inside the hours: no override stands any more.
            locked.outside_hours_approved = False
        locked.sequence += 1
        appointment_reminders_withdraw(appointment=locked)
        locked.full_clean(exclude=["consultation_request", "scheduled_by"], validate_constraints=typed)
        _save(locked, typed=typed, taken=taken)
        if typed:
            description = _g("Changed the consultation: now %(when)s") % {"when": local_time(starts_at)}
        else:
            description = _g("Moved the consultation from %(before)s to %(when)s with %(clinician)s") % {
                "before": local_time(previous.starts_at),
                "when": local_time(starts_at),
                "clinician": clinician.display_name,
            }
        audit_event_record(
            actor=by, action=Action.SCHEDULE, consultation_request=locked_request, description=description
        )
        locked.consultation_request = locked_request
        outbox.appointment_email_enqueue(
            appointment=locked,
            moved_from=None if typed else previous.starts_at,
            reason="" if patient else reason,
        )
        if patient:
            _patient_change_record(locked, reason=reason, change="moved")
    logger.info("Appointment %s moved", locked.pk)
    return locked


def _cancel_booked(*, appointment: Appointment, consultation_request: ConsultationRequest, by) -> None:
    """Cancel a booked consultation whose request this transaction has locked."""
    appointment_reminders_withdraw(appointment=appointment)
    appointment.status = Appointment.Status.CANCELLED
    appointment.sequence += 1
    appointment.save(update_fields=["status", "sequence", "updated_at"])
    audit_event_record(
        actor=by,
        action=Action.SCHEDULE,
        consultation_request=consultation_request,
        description=_g("Cancelled the consultation of %(when)s")
        % {"when": local_time(appointment.starts_at)},
    )
    appointment.consultation_request = consultation_request
    outbox.appointment_email_enqueue(appointment=appointment)


def appointment_cancel(
    *,
    appointment: Appointment,
    source: str,
    by: AbstractBaseUser | None = None,
    keep_request: bool = True,
    reason: str = "",
    now: datetime.datetime | None = None,
) -> Appointment:
    """Cancel a booked consultation and send the patient the cancellation of the calendar event.

    A request that was scheduled goes back to contacted, to be booked again or closed; the
    patient may instead cancel the whole request with it (``keep_request=False``). The patient
    cancels until the cut-off (after it the message gives the clinic's phone), with a
    ``ChangeReason`` kept in the audit trail, and the staff are told.
    """
    _check_source(source, by)
    patient = source == Source.PATIENT
    if not keep_request and not patient:
        raise ValueError("staff close a request through its status")
    if reason and (not patient or reason not in ChangeReason.values):
        raise ValidationError(_("Choose why the consultation is cancelled."), code="reason")
    now = now or timezone.now()
    if patient:
        patient_change_refusal(appointment=appointment, now=now, kind_needed=False)
    with transaction.atomic():
        # The request first, as every other service locks them.
        locked_request = ConsultationRequest.objects.select_for_update().get(
            pk=appointment.consultation_request_id
        )
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if locked.status == Appointment.Status.CANCELLED:
            if patient:
                raise ValidationError(_("This consultation has been cancelled already."), code="cancelled")
            return locked
        if not keep_request:
            # Cancelling the request cancels its consultation, and tells the staff.
            consultation_request_set_status(
                consultation_request=locked_request, status=Status.CANCELLED_BY_PATIENT, by=None
            )
            locked.refresh_from_db()
            locked.consultation_request = locked_request
        else:
            _cancel_booked(appointment=locked, consultation_request=locked_request, by=by)
            if locked_request.status == Status.SCHEDULED:
                consultation_request_set_status(
                    consultation_request=locked_request,
                    status=Status.CONTACTED,
                    by=by,
                    note=_g("Consultation cancelled; to be booked again"),
                )
            if patient:
                _tell_staff(locked, change="cancelled")
        if patient:
            _record_reason(locked, reason)
    logger.info("Appointment %s cancelled", locked.pk)
    return locked


def _patient_change_record(appointment: Appointment, *, reason: str, change: str) -> None:
    _record_reason(appointment, reason)
    _tell_staff(appointment, change=change)


def _record_reason(appointment: Appointment, reason: str) -> None:
    if reason:
        audit_event_record(
            actor=None,
            action=Action.SCHEDULE,
            consultation_request=appointment.consultation_request,
            description=_g("Reason the patient gave: %(reason)s") % {"reason": ChangeReason(reason).label},
        )


def _tell_staff(appointment: Appointment, *, change: str) -> None:
    outbox.staff_appointment_changed_enqueue(appointment=appointment, moved=change == "moved")


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
                _cancel_booked(appointment=appointment, consultation_request=locked, by=by)
        if status == Status.CANCELLED_BY_PATIENT and by is None:
            outbox.consultation_request_cancelled_email_enqueue(consultation_request_id=locked.pk)
    logger.info("Consultation request %s moved from %s to %s", locked.pk, previous, status)
    return locked


def consultation_request_cancel_by_patient(
    *, consultation_request: ConsultationRequest, now: datetime.datetime | None = None
) -> ConsultationRequest:
    """The patient cancels their request from the signed link in their e-mail; staff are told.

    Not once a booked consultation is closer than the patients' cut-off: they are asked to call.
    """
    booked = consultation_request.appointments.filter(status=Appointment.Status.BOOKED).first()
    if booked is not None and not booked.patient_may_change(now=now or timezone.now()):
        raise ValidationError(
            _("Your consultation is too close to cancel online. Please call us instead."), code="too_late"
        )
    try:
        return consultation_request_set_status(
            consultation_request=consultation_request, status=Status.CANCELLED_BY_PATIENT, by=None
        )
    except ValidationError:
        raise ValidationError(
            _("This request can no longer be cancelled online. Please call us instead."),
            code="invalid_transition",
        ) from None
