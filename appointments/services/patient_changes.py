"""The patient's side of moving or cancelling their consultation from the signed link in their e-mail.

Allowed until ``APPOINTMENT_PATIENT_CHANGE_CUTOFF_HOURS`` before it starts; after that the patient
is asked to call. The patient chooses a time, not a clinician: their clinician when free then,
otherwise another one who is. The change itself is ``scheduling``'s ``appointment_move`` or
``appointment_cancel`` with the patient as its source.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinic import details

from ..models import Appointment
from ..slots import Slot, open_slots


def too_late_message() -> str:
    return gettext(
        "Your consultation is less than %(hours)d hours away, so it can no longer be changed online. "
        "Please call us at %(phone)s."
    ) % {"hours": settings.APPOINTMENT_PATIENT_CHANGE_CUTOFF_HOURS, "phone": details.get().phone}


def patient_change_refusal(
    *, appointment: Appointment, now: datetime.datetime, kind_needed: bool = True
) -> None:
    """Raise why the patient may not change ``appointment`` online now (a move needs its kind)."""
    if appointment.status != Appointment.Status.BOOKED:
        raise ValidationError(_("This consultation has been cancelled already."), code="cancelled")
    if not appointment.patient_may_change(now=now):
        raise ValidationError(too_late_message(), code="too_late")
    if kind_needed and appointment.kind_id is None:
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
