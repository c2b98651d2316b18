"""The patient moves or cancels their booked consultation from the signed link in their e-mail.

Allowed until ``APPOINTMENT_PATIENT_CHANGE_CUTOFF_HOURS`` before it starts; after that the patient
is asked to call. The patient chooses a time, not a clinician: their clinician when free then,
otherwise another one who is. Both changes go through the booking services, so the exclusion
constraint settles a race, the patient gets the updated or cancelled calendar event, reminders
already queued are withdrawn, and the audit trail records the change with the patient as actor.
The staff are told by e-mail, with the reference and a link only.
"""

import datetime
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _g  # Not extracted: the audit trail stays English.
from django.utils.translation import gettext_lazy as _

from clinic import details

from ..emails import admin_url, render_email
from ..models import Appointment, AuditEvent, Clinician
from ..slots import Slot, nearest_open_slots, open_slots
from . import outbox
from .audit import audit_event_record
from .booking import SlotTaken, appointment_reschedule
from .requests import consultation_request_cancel_by_patient
from .scheduling import appointment_cancel

logger = logging.getLogger(__name__)


class ChangeReason(models.TextChoices):
    """Why the patient changes it: a choice, not free text, so that no health detail is written down."""

    TIME = "time", _("The time no longer suits me")
    ARRANGEMENTS = "arrangements", _("I have made other arrangements")
    OTHER = "other", _("Another reason")


def too_late_message() -> str:
    return gettext(
        "Your consultation is less than %(hours)d hours away, so it can no longer be changed online. "
        "Please call us at %(phone)s."
    ) % {"hours": settings.APPOINTMENT_PATIENT_CHANGE_CUTOFF_HOURS, "phone": details.get().phone}


def _check_may_change(appointment: Appointment, now: datetime.datetime) -> None:
    if appointment.status != Appointment.Status.BOOKED:
        raise ValidationError(_("This consultation has been cancelled already."), code="cancelled")
    if not appointment.patient_may_change(now=now):
        raise ValidationError(too_late_message(), code="too_late")
    if appointment.kind_id is None:
        # Typed in by hand by staff, with no kind to find open times for.
        raise ValidationError(
            gettext("This consultation can only be changed by phone. Please call us at %(phone)s.")
            % {"phone": details.get().phone},
            code="manual",
        )


def patient_open_slots(
    *,
    appointment: Appointment,
    now: datetime.datetime,
    first_day: datetime.date | None,
    days: int | None,
) -> list[Slot]:
    """The open times the patient may move ``appointment`` to: its kind, clinicians licensed in
    their state, never its own current time."""
    slots = open_slots(
        kind=appointment.kind,
        now=now,
        state=appointment.consultation_request.state,
        first_day=first_day,
        days=days,
        ignore_appointment=appointment,
    )
    return [slot for slot in slots if slot.starts_at != appointment.starts_at]


def clinician_for_time(*, slots: list[Slot], starts_at: datetime.datetime, current: int | None) -> int | None:
    """Who sees the patient at ``starts_at``: their current clinician if free then, else the first free."""
    free = [slot.clinician_id for slot in slots if slot.starts_at == starts_at]
    if current in free:
        return current
    return free[0] if free else None


def _nearest(appointment: Appointment, around: datetime.datetime, now: datetime.datetime) -> SlotTaken:
    return SlotTaken(
        nearest=nearest_open_slots(
            kind=appointment.kind, around=around, now=now, state=appointment.consultation_request.state
        )
    )


def _record_reason(appointment: Appointment, reason: str) -> None:
    if reason:
        audit_event_record(
            actor=None,
            action=AuditEvent.Action.SCHEDULE,
            consultation_request=appointment.consultation_request,
            description=_g("Reason the patient gave: %(reason)s") % {"reason": ChangeReason(reason).label},
        )


def _tell_staff(appointment: Appointment, change: str) -> None:
    consultation_request = appointment.consultation_request
    subject, body = render_email(
        "staff_appointment_changed",
        {
            "clinic": details.get(),
            "reference": consultation_request.reference,
            "moved": change == "moved",
            "admin_url": admin_url(consultation_request),
        },
    )
    outbox.outbound_email_enqueue(
        dedupe_key=f"appointment:{appointment.uid}:{appointment.sequence}:staff-{change}",
        consultation_request=consultation_request,
        to=settings.CLINIC_STAFF_EMAIL,
        subject=subject,
        body=body,
    )


def appointment_reschedule_by_patient(
    *,
    appointment: Appointment,
    starts_at: datetime.datetime,
    reason: str = "",
    now: datetime.datetime | None = None,
) -> Appointment:
    """Move the patient's booked consultation to another open time of the same kind.

    Raises ``ValidationError`` after the cut-off (the message gives the clinic's phone), and
    ``SlotTaken`` with the nearest open times when the time is not open or was taken first.
    """
    if timezone.is_naive(starts_at):
        raise ValueError("starts_at must be timezone-aware")
    now = now or timezone.now()
    _check_may_change(appointment, now)
    day = timezone.localtime(starts_at).date()
    slots = patient_open_slots(appointment=appointment, now=now, first_day=day, days=1)
    clinician_id = clinician_for_time(slots=slots, starts_at=starts_at, current=appointment.clinician_id)
    if clinician_id is None:
        raise _nearest(appointment, starts_at, now)
    with transaction.atomic():
        try:
            moved = appointment_reschedule(
                appointment=appointment,
                starts_at=starts_at,
                clinician=Clinician.objects.get(pk=clinician_id),
                by=None,
                now=now,
            )
        except SlotTaken as taken:
            raise _nearest(appointment, starts_at, now) from taken
        _record_reason(moved, reason)
        _tell_staff(moved, "moved")
    logger.info("Appointment %s moved by the patient", moved.pk)
    return moved


def appointment_cancel_by_patient(
    *,
    appointment: Appointment,
    keep_request: bool,
    reason: str = "",
    now: datetime.datetime | None = None,
) -> Appointment:
    """Cancel the patient's booked consultation; with ``keep_request`` the clinic calls to find
    another time (the request goes back to "contacted"), without it the whole request is cancelled.

    Raises ``ValidationError`` after the cut-off, with the clinic's phone in the message.
    """
    now = now or timezone.now()
    if appointment.status != Appointment.Status.BOOKED:
        raise ValidationError(_("This consultation has been cancelled already."), code="cancelled")
    if not appointment.patient_may_change(now=now):
        raise ValidationError(too_late_message(), code="too_late")
    with transaction.atomic():
        if keep_request:
            cancelled = appointment_cancel(appointment=appointment, by=None)
            _tell_staff(cancelled, "cancelled")
        else:
            # Cancelling the request cancels its consultation and tells the staff.
            consultation_request_cancel_by_patient(
                consultation_request=appointment.consultation_request, now=now
            )
            cancelled = Appointment.objects.select_related("consultation_request").get(pk=appointment.pk)
        _record_reason(cancelled, reason)
    logger.info("Appointment %s cancelled by the patient", cancelled.pk)
    return cancelled
