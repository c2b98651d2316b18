"""Booking a request's consultation, moving it, and cancelling it, with the patient's calendar told."""

import datetime
import logging
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from ..models import Appointment, AuditEvent, Clinician, ConsultationRequest
from ..roles import may_book_outside_hours
from ..slots import within_working_hours
from . import outbox
from . import requests as request_services
from .audit import audit_event_record
from .cancellation import appointment_cancel_locked, local_time
from .reminders import appointment_reminders_withdraw

logger = logging.getLogger(__name__)

Status = ConsultationRequest.Status
Action = AuditEvent.Action
EXCLUSION_VIOLATION = "23P01"


def is_exclusion_violation(error: IntegrityError) -> bool:
    """Whether PostgreSQL refused a row because it overlapped another (SQLSTATE 23P01)."""
    return request_services.sqlstate(error) == EXCLUSION_VIOLATION


# ``appointment_schedule`` without a clinician: the booked consultation keeps the one it has.
KEEP_CLINICIAN = object()


def _hours_approval(
    *,
    clinician: Clinician | None,
    starts_at: datetime.datetime,
    duration_minutes: int,
    outside_hours: bool,
    by: AbstractBaseUser | None,
) -> bool:
    """Whether the time is booked outside the clinician's hours on purpose; refuses it otherwise.

    A time inside the hours needs no approval, ticked or not: it stays an ordinary booking.
    """
    if clinician is None:
        return False
    ends_at = starts_at + datetime.timedelta(minutes=duration_minutes)
    inside = within_working_hours(clinician=clinician, starts_at=starts_at, ends_at=ends_at)
    if inside:
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


def appointment_schedule(
    *,
    consultation_request: ConsultationRequest,
    starts_at: datetime.datetime,
    duration_minutes: int,
    modality: str,
    location: str = "",
    telehealth_instructions: str = "",
    clinician: Any = KEEP_CLINICIAN,
    outside_hours: bool = False,
    by: AbstractBaseUser,
) -> Appointment:
    """Book the request's consultation, or change the booked one; e-mail the patient an invitation.

    A first booking moves the request to scheduled and sends a new calendar event; a change sends
    an update of the same event (same UID, next SEQUENCE); saving the same details sends nothing.
    ``starts_at`` must be timezone-aware; it is stored in UTC. The invitation is written to the
    outbox in this transaction, so it is sent if and only if the booking is saved.

    With a ``clinician`` the time must lie inside their working hours, unless ``outside_hours``
    says it is booked outside them on purpose, which only a clinic admin may do
    (``roles.OVERRIDE_HOURS_PERMISSION``); either way it never overlaps another of their
    appointments (the exclusion constraint). ``clinician=None`` books nobody in particular (the
    clinic keeps the time by hand); left out, a booked consultation keeps its clinician.
    """
    if timezone.is_naive(starts_at):
        raise ValueError("starts_at must be timezone-aware")
    if modality == Appointment.Modality.TELEHEALTH:
        location = ""
    else:
        telehealth_instructions = ""
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
        if clinician is KEEP_CLINICIAN:
            clinician = appointment.clinician
        elif (
            clinician is not None
            and clinician != appointment.clinician
            and (not clinician.is_active or locked.state not in clinician.licensed_states)
        ):
            raise ValidationError(
                _("%(name)s does not take bookings from the patient's state (%(state)s).")
                % {"name": clinician.display_name, "state": locked.state},
                code="licence",
            )
        # An admin's approval stands while the time, length and clinician do.
        approved = (
            not booking
            and appointment.outside_hours_approved
            and (appointment.starts_at, appointment.duration_minutes, appointment.clinician)
            == (starts_at, duration_minutes, clinician)
        )
        details = (
            starts_at,
            duration_minutes,
            modality,
            location.strip(),
            telehealth_instructions.strip(),
            clinician,
            approved
            or _hours_approval(
                clinician=clinician,
                starts_at=starts_at,
                duration_minutes=duration_minutes,
                outside_hours=outside_hours,
                by=by,
            ),
        )
        if not booking:
            current = (
                appointment.starts_at,
                appointment.duration_minutes,
                appointment.modality,
                appointment.location,
                appointment.telehealth_instructions,
                appointment.clinician,
                appointment.outside_hours_approved,
            )
            if current == details:
                return appointment
        if Appointment.start_is_past(starts_at, booked_starts_at=None if booking else appointment.starts_at):
            raise ValidationError(Appointment.PAST_START_MESSAGE, code="past")
        (
            appointment.starts_at,
            appointment.duration_minutes,
            appointment.modality,
            appointment.location,
            appointment.telehealth_instructions,
            appointment.clinician,
            appointment.outside_hours_approved,
        ) = details
        if not booking:
            appointment.sequence += 1
            appointment_reminders_withdraw(appointment=appointment)
        appointment.full_clean(exclude=["consultation_request", "scheduled_by"])
        try:
            with transaction.atomic():
                appointment.save()
        except IntegrityError as error:
            # A booking with a clinician, moved by hand onto another of theirs.
            if not is_exclusion_violation(error):
                raise
            raise ValidationError(
                _("The clinician already has an appointment at that time."), code="slot_taken"
            ) from error
        if locked.status != Status.SCHEDULED:
            request_services.consultation_request_set_status(
                consultation_request=locked, status=Status.SCHEDULED, by=by
            )
        if booking:
            description = _g("Booked the consultation for %(when)s")
        else:
            description = _g("Changed the consultation: now %(when)s")
        audit_event_record(
            actor=by,
            action=Action.SCHEDULE,
            consultation_request=locked,
            description=description % {"when": local_time(starts_at)},
        )
        appointment.consultation_request = locked
        outbox.appointment_email_enqueue(appointment=appointment)
    logger.info("Appointment %s for consultation request %s saved", appointment.pk, locked.pk)
    return appointment


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
        appointment_cancel_locked(appointment=locked, consultation_request=locked_request, by=by)
        if locked_request.status == Status.SCHEDULED:
            request_services.consultation_request_set_status(
                consultation_request=locked_request,
                status=Status.CONTACTED,
                by=by,
                note=_g("Consultation cancelled; to be booked again"),
            )
    return locked
