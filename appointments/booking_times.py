"""The open times a patient is offered while booking: which kind, which clinicians, which zones.

The patient chooses in person or video on the ``visit`` step; the times offered are those of the
kind held that way (the longest such kind: a first consultation rather than a short call), with
the clinicians licensed in the state given on the ``where`` step, from the kind's minimum notice
to its horizon. "Either is fine" is booked as video: a video call suits a patient wherever they
are, and staff can still change it. Times are shown in the clinic's zone; for video also in the
patient's own zone, from a short list that defaults from their state.
"""

import datetime
import zoneinfo

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from . import questionnaire
from .models import Appointment, Clinician, ConsultationKind

# The zones a patient may read the times in: the US zones, by the names people use.
PATIENT_ZONES = [
    ("America/New_York", _("Eastern time")),
    ("America/Chicago", _("Central time")),
    ("America/Denver", _("Mountain time")),
    ("America/Phoenix", _("Arizona time")),
    ("America/Los_Angeles", _("Pacific time")),
    ("America/Anchorage", _("Alaska time")),
    ("Pacific/Honolulu", _("Hawaii time")),
    ("America/Puerto_Rico", _("Atlantic time (Puerto Rico)")),
]
PATIENT_ZONE_LABELS = dict(PATIENT_ZONES)

_CENTRAL = "AL AR IL IA KS LA MN MS MO NE ND OK SD TN TX WI"
_MOUNTAIN = "CO ID MT NM UT WY"
_PACIFIC = "CA NV OR WA"
# Each state's most populous zone: a default the patient can change, not a fact about them.
STATE_ZONES = {
    **dict.fromkeys(_CENTRAL.split(), "America/Chicago"),
    **dict.fromkeys(_MOUNTAIN.split(), "America/Denver"),
    **dict.fromkeys(_PACIFIC.split(), "America/Los_Angeles"),
    "AZ": "America/Phoenix",
    "AK": "America/Anchorage",
    "HI": "Pacific/Honolulu",
    "PR": "America/Puerto_Rico",
    "VI": "America/Puerto_Rico",
}


def zone_for_state(state: str) -> str:
    """The zone a patient in ``state`` most likely reads clocks in (Eastern unless listed)."""
    return STATE_ZONES.get(state, "America/New_York")


def appointment_modality(modality: str) -> str:
    """How a booking with the patient's answer ``modality`` is held: in person, or video."""
    if modality == questionnaire.Modality.IN_PERSON:
        return Appointment.Modality.IN_PERSON
    return Appointment.Modality.TELEHEALTH


def booking_kind(*, modality: str, state: str) -> ConsultationKind | None:
    """The kind of consultation a patient booking online is offered, or None when no clinician
    licensed in ``state`` holds one that way (the clinic then calls to find a time)."""
    held = appointment_modality(modality)
    clinicians = Clinician.objects.bookable(state=state).filter(kinds=OuterRef("pk"))
    return (
        ConsultationKind.objects.filter(is_active=True, modality__in=[held, ConsultationKind.Modality.EITHER])
        .filter(Exists(clinicians))
        .order_by("-duration_minutes", "name")
        .first()
    )


def shows_patient_zone(*, modality: str, time_zone: str) -> bool:
    """Whether the times are also shown in the patient's zone: for video, when it is not the clinic's."""
    if appointment_modality(modality) != Appointment.Modality.TELEHEALTH:
        return False
    clinic = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    # Same rules all year (New York and the "Eastern time" entry): one clock, shown once.
    sample = [datetime.datetime(2026, month, 1, 12, tzinfo=datetime.UTC) for month in (1, 7)]
    theirs = zoneinfo.ZoneInfo(time_zone)
    return any(
        moment.astimezone(clinic).utcoffset() != moment.astimezone(theirs).utcoffset() for moment in sample
    )
