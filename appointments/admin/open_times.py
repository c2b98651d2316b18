"""Booking an open time from a request's page: the same open times as patients see, one click each.

The page lists the next days' open times of the kinds and clinicians that fit the request (its
state's licences; its preferred way of meeting when it has one); a time's button posts to the
booking view, which books it through ``appointment_book``: the same checks, the same exclusion
constraint behind them, and the same invitation e-mailed as when staff type a time in.

Once the request has a booked consultation, the same panel moves it instead: the open times of
its kind (the booked time itself counted as free), with the same or another clinician; a time's
button posts to the move view, which moves it through ``appointment_move``.
"""

import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from ..forms.times import parse_time_value, time_value
from ..models import Appointment, Clinician, ConsultationKind, ConsultationRequest
from ..services.scheduling import MoveReason
from ..slots import DAYS_SHOWN, Slot, booking_window, days_page, open_slots
from ..staff_calendar import time_zone_label


@dataclass
class OpenTimesPanel:
    kinds: list[ConsultationKind]
    kind: ConsultationKind | None
    clinicians: list[Clinician]
    clinician: Clinician | None
    modalities: list[tuple[str, str]]
    modality: str
    first_day: datetime.date
    later: datetime.date | None
    earlier: datetime.date | None
    zone_label: str
    days: list[tuple[datetime.date, list[dict]]] = field(default_factory=list)
    moving: Appointment | None = None
    reasons: list[tuple[str, str]] = field(default_factory=list)
    reason: str = ""


def _modalities(kind: ConsultationKind, preferred: str) -> list[tuple[str, str]]:
    offered = [(value, label) for value, label in Appointment.Modality.choices if kind.offers(value)]
    # The patient's own choice first, and the only one offered when the kind allows it.
    chosen = [(value, label) for value, label in offered if value == preferred]
    return chosen or offered


def _pick(objects, value):
    return next((obj for obj in objects if str(obj.pk) == value), None)


def open_times_panel(*, consultation_request: ConsultationRequest, params, now=None) -> OpenTimesPanel | None:
    """What the request's page offers to book, or to move its booked consultation to, from the
    page's query string (kind, clinician, from, and why it is moved)."""
    if not consultation_request.is_open:
        return None
    moving = (
        consultation_request.appointments.filter(status=Appointment.Status.BOOKED)
        .select_related("kind", "clinician")
        .first()
    )
    now = now or timezone.now()
    # A booked consultation keeps its way of meeting when it moves.
    preferred = moving.modality if moving else consultation_request.modality
    if moving and moving.kind:
        kinds = [moving.kind]
    else:
        kinds = [
            kind
            for kind in ConsultationKind.objects.filter(is_active=True)
            if preferred not in Appointment.Modality.values or kind.offers(preferred)
        ]
    kind = _pick(kinds, params.get("book_kind", "")) or (kinds[0] if kinds else None)
    panel = OpenTimesPanel(
        kinds=kinds,
        kind=kind,
        clinicians=[],
        clinician=None,
        modalities=[],
        modality="",
        first_day=timezone.localdate(now),
        later=None,
        earlier=None,
        zone_label=time_zone_label(),
        moving=moving,
    )
    if moving:
        panel.reasons = MoveReason.choices
        reason = params.get("move_reason", "")
        panel.reason = reason if reason in MoveReason.values else MoveReason.CLINICIAN_UNAVAILABLE
    if kind is None:
        return panel
    panel.clinicians = list(Clinician.objects.bookable(kind=kind, state=consultation_request.state))
    panel.clinician = _pick(panel.clinicians, params.get("book_clinician", ""))
    panel.modalities = (
        [(preferred, Appointment.Modality(preferred).label)] if moving else _modalities(kind, preferred)
    )
    panel.modality = panel.modalities[0][0] if panel.modalities else ""
    page = days_page(params.get("book_from"), booking_window(kind, now))
    panel.first_day, panel.earlier, panel.later = page.first_day, page.earlier, page.later
    slots = open_slots(
        kind=kind,
        now=now,
        state=consultation_request.state,
        clinician=panel.clinician,
        first_day=panel.first_day,
        days=DAYS_SHOWN,
        ignore_appointment=moving,
    )
    if moving:
        # Its own time is free to itself, but is not somewhere to move to.
        slots = [
            slot
            for slot in slots
            if (slot.starts_at, slot.clinician_id) != (moving.starts_at, moving.clinician_id)
        ]
    panel.days = _by_day(slots, {clinician.pk: clinician for clinician in panel.clinicians})
    return panel


def _by_day(slots: list[Slot], clinicians: dict[int, Clinician]):
    days = {}
    for slot in slots:
        local = timezone.localtime(slot.starts_at)
        days.setdefault(local.date(), []).append(
            {
                "value": slot_value(slot),
                "starts": local,
                "clinician": clinicians.get(slot.clinician_id),
            }
        )
    return sorted(days.items())


def slot_value(slot: Slot) -> str:
    """A button's value: the clinician and the instant, ``12:20260601T1400Z``."""
    return f"{slot.clinician_id}:{time_value(slot.starts_at)}"


def parse_slot_value(value: str) -> tuple[int, datetime.datetime] | None:
    clinician, _colon, moment = (value or "").partition(":")
    starts_at = parse_time_value(moment)
    if not clinician.isdigit() or len(clinician) > 9 or starts_at is None:
        return None
    return int(clinician), starts_at
