"""Booking an open time with a clinician, and moving it; PostgreSQL settles who got a time first.

The services check the chosen time against the open times (``appointments.slots``), then insert
or move the appointment. Two people choosing the same time at once both pass that check; the
exclusion constraint on appointments lets exactly one of them commit, and the other gets
``SlotTaken`` with the nearest open times instead. Cancelling is ``appointment_cancel`` in
``scheduling``: a cancelled appointment leaves the constraint, and its time is open again.
"""

import datetime
import logging

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from clinic import details

from ..models import Appointment, AuditEvent, Clinician, ConsultationKind, ConsultationRequest
from ..models.booking import new_calendar_feed_token
from ..slots import Slot, nearest_open_slots, slot_is_open
from . import outbox
from . import requests as request_services
from .audit import audit_event_record
from .cancellation import local_time
from .reminders import appointment_reminders_withdraw
from .scheduling import is_exclusion_violation

logger = logging.getLogger(__name__)

DEFAULT_TELEHEALTH_INSTRUCTIONS = _(
    "The clinic will e-mail you the video link before the consultation. "
    "Join from a quiet, private place a few minutes early."
)


class MoveReason(models.TextChoices):
    """Why the clinic moved a patient's consultation: a choice, so that the e-mail says it plainly
    and no free text (or health detail) reaches it. The patient's sentence for each is in
    ``templates/appointments/email/appointment_updated.txt``, in their language."""

    CLINICIAN_UNAVAILABLE = "clinician_unavailable", _("The clinician is not available then")
    PATIENT_ASKED = "patient_asked", _("The patient asked for another time")
    CLINIC = "clinic", _("The clinic had to change its arrangements")


class SlotTaken(ValidationError):
    """The chosen time is not open (any more): someone else booked it first. Carries the nearest open times."""

    def __init__(self, *, nearest: list[Slot]):
        super().__init__(
            _("That time has just been taken. Please choose another; the nearest open times are shown."),
            code="slot_taken",
        )
        self.nearest = nearest


def _taken(*, kind, around, now, clinician=None, state=None) -> SlotTaken:
    return SlotTaken(
        nearest=nearest_open_slots(kind=kind, around=around, now=now, clinician=clinician, state=state)
    )


def _check_clinician(*, clinician: Clinician, kind: ConsultationKind, state: str) -> None:
    if not clinician.is_active or not clinician.kinds.filter(pk=kind.pk).exists():
        raise ValidationError(_("This clinician does not take this kind of consultation."), code="kind")
    if state not in clinician.licensed_states:
        raise ValidationError(
            _("This clinician is not licensed in the patient's state (%(state)s).") % {"state": state},
            code="licence",
        )


def appointment_book(
    *,
    consultation_request: ConsultationRequest,
    clinician: Clinician,
    kind: ConsultationKind,
    starts_at: datetime.datetime,
    modality: str,
    by: AbstractBaseUser | None,
    now: datetime.datetime | None = None,
) -> Appointment:
    """Book an open time for the request's consultation and e-mail the patient an invitation.

    The time must be one of ``clinician``'s open times for ``kind``; the clinician must do the
    kind and be licensed in the patient's state. ``by`` is the staff member, or None for the
    patient. Raises ``SlotTaken`` (with the nearest open times) when the time is not open or
    another booking took it first, and ``ValidationError`` for anything else refused.
    """
    if timezone.is_naive(starts_at):
        raise ValueError("starts_at must be timezone-aware")
    now = now or timezone.now()
    if not kind.offers(modality):
        raise ValidationError(
            _("This kind of consultation is not held that way (%(modality)s).")
            % {"modality": Appointment.Modality(modality).label},
            code="modality",
        )
    _check_clinician(clinician=clinician, kind=kind, state=consultation_request.state)
    if not slot_is_open(kind=kind, clinician=clinician, starts_at=starts_at, now=now):
        raise _taken(kind=kind, around=starts_at, now=now, clinician=clinician)
    try:
        with transaction.atomic():
            locked = ConsultationRequest.objects.select_for_update().get(pk=consultation_request.pk)
            if not locked.is_open:
                raise ValidationError(
                    _("This request is closed (“%(status)s”), so it cannot be booked.")
                    % {"status": locked.get_status_display()},
                    code="closed",
                )
            if locked.appointments.filter(status=Appointment.Status.BOOKED).exists():
                raise ValidationError(
                    _("This request already has a booked appointment: move that one instead."), code="booked"
                )
            telehealth = modality == Appointment.Modality.TELEHEALTH
            appointment = Appointment(
                consultation_request=locked,
                clinician=clinician,
                kind=kind,
                starts_at=starts_at,
                duration_minutes=kind.duration_minutes,
                buffer_before_minutes=kind.buffer_before_minutes,
                buffer_after_minutes=kind.buffer_after_minutes,
                modality=modality,
                location="" if telehealth else details.get().address,
                telehealth_instructions=(
                    clinician.telehealth_instructions or str(DEFAULT_TELEHEALTH_INSTRUCTIONS)
                    if telehealth
                    else ""
                ),
                scheduled_by=by,
            )
            # The database decides overlaps (below); checking here would only race it.
            appointment.full_clean(
                exclude=["consultation_request", "scheduled_by"], validate_constraints=False
            )
            appointment.save()
            if locked.status != ConsultationRequest.Status.SCHEDULED:
                request_services.consultation_request_set_status(
                    consultation_request=locked, status=ConsultationRequest.Status.SCHEDULED, by=by
                )
            audit_event_record(
                actor=by,
                action=AuditEvent.Action.SCHEDULE,
                consultation_request=locked,
                description=_g("Booked %(kind)s with %(clinician)s for %(when)s")
                % {"kind": kind.name, "clinician": clinician.display_name, "when": local_time(starts_at)},
            )
            outbox.appointment_email_enqueue(appointment=appointment)
    except IntegrityError as error:
        if not is_exclusion_violation(error):
            raise
        logger.info("An open time was taken first by another booking; offered the nearest ones")
        raise _taken(kind=kind, around=starts_at, now=now, clinician=clinician) from error
    logger.info("Appointment %s booked for consultation request %s", appointment.pk, locked.pk)
    return appointment


def appointment_reschedule(
    *,
    appointment: Appointment,
    starts_at: datetime.datetime,
    clinician: Clinician | None = None,
    kind: ConsultationKind | None = None,
    reason: str = "",
    by: AbstractBaseUser | None,
    now: datetime.datetime | None = None,
) -> Appointment:
    """Move a booked appointment to another open time (with the same or another clinician).

    The patient gets an update of the same calendar event (same UID, next SEQUENCE), saying when
    it was and, when the clinic moved it, why (``reason``, a ``MoveReason``); reminders queued for
    the old time are withdrawn. An appointment typed in by hand has no kind: ``kind`` gives it one
    (its length and buffers). Raises ``SlotTaken`` with the nearest open times when the new time
    is not open or was just taken.
    """
    if timezone.is_naive(starts_at):
        raise ValueError("starts_at must be timezone-aware")
    if reason and reason not in MoveReason.values:
        raise ValidationError(_("Choose why the consultation is moved."), code="reason")
    now = now or timezone.now()
    kind = appointment.kind or kind
    if kind is None:
        raise ValidationError(
            _(
                "This appointment was typed in by hand: choose a kind of consultation to move it to an open time."
            ),
            code="manual",
        )
    if not kind.offers(appointment.modality):
        raise ValidationError(
            _("This kind of consultation is not held that way (%(modality)s).")
            % {"modality": appointment.get_modality_display()},
            code="modality",
        )
    clinician = clinician or appointment.clinician
    _check_clinician(clinician=clinician, kind=kind, state=appointment.consultation_request.state)
    if not slot_is_open(
        kind=kind, clinician=clinician, starts_at=starts_at, now=now, ignore_appointment=appointment
    ):
        raise _taken(kind=kind, around=starts_at, now=now, clinician=clinician)
    try:
        with transaction.atomic():
            locked_request = ConsultationRequest.objects.select_for_update().get(
                pk=appointment.consultation_request_id
            )
            locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
            if locked.status != Appointment.Status.BOOKED:
                raise ValidationError(
                    _("This appointment is cancelled, so it cannot be moved."), code="cancelled"
                )
            if locked.starts_at == starts_at and locked.clinician_id == clinician.pk and locked.kind == kind:
                return locked
            previous = locked.starts_at
            appointment_reminders_withdraw(appointment=locked)
            if locked.modality == Appointment.Modality.TELEHEALTH and locked.clinician_id != clinician.pk:
                locked.telehealth_instructions = clinician.telehealth_instructions or str(
                    DEFAULT_TELEHEALTH_INSTRUCTIONS
                )
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
            locked.save()
            audit_event_record(
                actor=by,
                action=AuditEvent.Action.SCHEDULE,
                consultation_request=locked_request,
                description=_g("Moved the consultation from %(before)s to %(when)s with %(clinician)s")
                % {
                    "before": local_time(previous),
                    "when": local_time(starts_at),
                    "clinician": clinician.display_name,
                },
            )
            locked.consultation_request = locked_request
            outbox.appointment_email_enqueue(
                appointment=locked,
                moved_from=previous,
                reason=reason,
            )
    except IntegrityError as error:
        if not is_exclusion_violation(error):
            raise
        raise _taken(kind=kind, around=starts_at, now=now, clinician=clinician) from error
    logger.info("Appointment %s moved", locked.pk)
    return locked


def clinician_calendar_feed_renew(*, clinician: Clinician) -> Clinician:
    """Give the clinician a new secret feed address; the old one stops working at once."""
    with transaction.atomic():
        locked = Clinician.objects.select_for_update().get(pk=clinician.pk)
        locked.calendar_feed_token = new_calendar_feed_token()
        locked.save(update_fields=["calendar_feed_token"])
    logger.info("Calendar feed address renewed for clinician %s", locked.pk)
    return locked
