"""What staff see of the clinicians' time: the admin's day and week calendar, and each clinician's ICS feed.

Both show a booked appointment by its reference (and, on the calendar, the patient's name for
staff who may see names): never an answer, a flag or anything clinical.
"""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from icalendar import Calendar, Event

from clinic import details

from .calendar import appointment_location
from .models import Appointment, Clinician
from .slots import DAY, Availability, local_day_bounds

FEED_PAST_DAYS = 30
VIEWS = {"day": 1, "week": 7}


def time_zone_label() -> str:
    """The clinic's zone as people say it: "America/New_York" is "New York time"."""
    city = settings.TIME_ZONE.rpartition("/")[2].replace("_", " ")
    return _("%(city)s time") % {"city": city}


@dataclass
class CalendarItem:
    kind: str  # "booked" or "free"
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    appointment: Appointment | None = None
    patient_name: str = ""


@dataclass
class CalendarColumn:
    label: str
    clinician: Clinician | None
    items: list[CalendarItem] = field(default_factory=list)
    outside_hours: list[Appointment] = field(default_factory=list)


@dataclass
class CalendarDay:
    date: datetime.date
    columns: list[CalendarColumn]


def calendar_days(
    *,
    first_day: datetime.date,
    days: int,
    clinician: Clinician | None,
    show_names: bool,
    active: list[Clinician] | None = None,
) -> list[CalendarDay]:
    """The booked appointments and free time of one clinician, or of every active clinician, day by day.

    Appointments typed in without a clinician appear in a column of their own. Five queries,
    whatever the number of clinicians and days (four when given the ``active`` clinicians).
    """
    last_day = first_day + DAY * (days - 1)
    if clinician is not None:
        clinicians = [clinician]
    elif active is not None:
        clinicians = active
    else:
        clinicians = list(Clinician.objects.filter(is_active=True))
    by_id = {c.pk: c for c in clinicians}
    availability = Availability(by_id, first_day, last_day)
    range_start = local_day_bounds(first_day)[0]
    range_end = local_day_bounds(last_day)[1]
    booked = Appointment.objects.filter(
        status=Appointment.Status.BOOKED, starts_at__gte=range_start, starts_at__lt=range_end
    )
    if clinician is not None:
        booked = booked.filter(clinician=clinician)
    else:
        booked = booked.filter(Q(clinician__in=list(by_id)) | Q(clinician__isnull=True))
    booked = booked.select_related("consultation_request", "kind").order_by("starts_at")

    appointments = {}
    for appointment in booked:
        day = timezone.localtime(appointment.starts_at).date()
        appointments.setdefault((appointment.clinician_id, day), []).append(appointment)

    calendar = []
    day = first_day
    while day <= last_day:
        columns = []
        for clinician_id, person in by_id.items():
            column = CalendarColumn(label=person.display_name, clinician=person)
            working = availability.working(clinician_id, day)
            for appointment in appointments.get((clinician_id, day), []):
                column.items.append(_booked_item(appointment, show_names))
                if not any(s <= appointment.starts_at and appointment.ends_at <= e for s, e in working):
                    column.outside_hours.append(appointment)
            column.items += [CalendarItem("free", s, e) for s, e in availability.free(clinician_id, day)]
            column.items.sort(key=lambda item: item.starts_at)
            columns.append(column)
        unassigned = appointments.get((None, day), [])
        if unassigned:
            columns.append(
                CalendarColumn(
                    label=str(_("No clinician given")),
                    clinician=None,
                    items=[_booked_item(appointment, show_names) for appointment in unassigned],
                )
            )
        calendar.append(CalendarDay(date=day, columns=columns))
        day += DAY
    return calendar


def _booked_item(appointment: Appointment, show_names: bool) -> CalendarItem:
    name = ""
    if show_names:
        request = appointment.consultation_request
        name = f"{request.first_name} {request.last_name}".strip()
    return CalendarItem("booked", appointment.starts_at, appointment.ends_at, appointment, name)


def clinician_feed_appointments(*, clinician: Clinician, now: datetime.datetime) -> list[Appointment]:
    """What the clinician's feed lists: their booked consultations, from 30 days back onwards. One query."""
    return list(
        clinician.appointments.filter(
            status=Appointment.Status.BOOKED, starts_at__gte=now - datetime.timedelta(days=FEED_PAST_DAYS)
        )
        .select_related("consultation_request", "kind")
        .order_by("starts_at")
    )


def clinician_feed_ics(
    *, clinician: Clinician, now: datetime.datetime, appointments: list[Appointment] | None = None
) -> str:
    """The clinician's booked consultations as an iCalendar feed: "Consultation <reference>", no names.

    From 30 days back onwards (``appointments``, when given, are ``clinician_feed_appointments``).
    A cancelled or moved appointment simply leaves the feed or changes its time: calendar apps
    replace the feed's events at each refresh.
    """
    calendar = Calendar()
    clinic_name = details.get().name
    calendar.add("prodid", f"-//{clinic_name}//Clinician calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{clinic_name}: {clinician.display_name}")
    if appointments is None:
        appointments = clinician_feed_appointments(clinician=clinician, now=now)
    stamp = now.astimezone(datetime.UTC)
    for appointment in appointments:
        event = Event()
        event.add("uid", f"staff-{appointment.uid}")
        event.add("sequence", appointment.sequence)
        event.add("dtstamp", stamp)
        event.add("dtstart", appointment.starts_at.astimezone(datetime.UTC))
        event.add("dtend", appointment.ends_at.astimezone(datetime.UTC))
        event.add("summary", f"Consultation {appointment.consultation_request.reference}")
        event.add("location", appointment_location(appointment))
        lines = [appointment.get_modality_display()]
        if appointment.kind is not None:
            lines.insert(0, appointment.kind.name)
        event.add("description", "\n".join(str(line) for line in lines))
        event.add("status", "CONFIRMED")
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical().decode()
