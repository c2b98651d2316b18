"""Open times: the one place that turns clinicians' hours into times a patient or staff can book.

Hours and exceptions are wall-clock times in the clinic's time zone; everything computed here is
a real instant in UTC. Each stretch of hours becomes one UTC interval, and start times step
through it in real minutes, so a day when the clocks change is neither short of nor long by an
open time: on the spring change 02:00–03:00 does not exist and offers nothing; on the autumn
change 01:00–02:00 happens twice and each real instant is offered once.

A time is open for a kind of consultation when the consultation lies inside the clinician's
hours (and outside their time off), its buffers overlap no booked appointment's, it is at least
the kind's minimum notice away and within its booking horizon. The booking service checks a
chosen time here; PostgreSQL's exclusion constraint then settles any race.
"""

import bisect
import datetime
import functools
import operator
from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

from django.db import models
from django.utils import timezone

from .models import Appointment, AvailabilityException, Clinician, ConsultationKind, WeeklyHours

UTC = datetime.UTC
MINUTE = datetime.timedelta(minutes=1)
DAY = datetime.timedelta(days=1)

Interval = tuple[datetime.datetime, datetime.datetime]


class Slot(NamedTuple):
    """An open time: a real instant (UTC) with one clinician free for the whole consultation.

    A named tuple rather than a dataclass: a week's page makes about a thousand, and a frozen
    dataclass took three times as long to build each one.
    """

    starts_at: datetime.datetime
    ends_at: datetime.datetime
    clinician_id: int

    @property
    def local_start(self) -> datetime.datetime:
        return timezone.localtime(self.starts_at)


def local_instant(day: datetime.date, wall: datetime.time, *, latest: bool = False) -> datetime.datetime:
    """The UTC instant of a wall-clock time on a day in the clinic's time zone.

    A time that happens twice (the autumn change) is its first occurrence, or its second when
    ``latest``, so a stretch of hours that spans the repeated hour includes both. A time that does
    not exist (the spring change) is the instant the clocks jumped.
    """
    return _local_instant(day, wall, latest, timezone.get_default_timezone())


@functools.lru_cache(maxsize=4096)
def _local_instant(day, wall, latest, zone):
    # Cached: every clinician's 09:00 on a day is the same instant.
    naive = datetime.datetime.combine(day, wall)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return first
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return second if latest else first
    # Skipped: the change happened between the two readings; find the minute it did.
    moment, after = min(first, second), max(first, second)
    offset_after = after.astimezone(zone).utcoffset()
    while moment.astimezone(zone).utcoffset() != offset_after:
        moment += MINUTE
    return moment


def local_day_bounds(day: datetime.date) -> Interval:
    """The real instants a local calendar day starts and ends (23 or 25 hours on a change)."""
    return local_instant(day, datetime.time(0)), local_instant(day + DAY, datetime.time(0))


def _overlaps(intervals: list[Interval], ends: list[datetime.datetime], start, end) -> bool:
    """Whether [start, end) overlaps any of ``intervals`` (sorted, not overlapping; ``ends`` their ends)."""
    index = bisect.bisect_right(ends, start)
    return index < len(intervals) and intervals[index][0] < end


def _subtract(windows: Iterable[Interval], taken: list[Interval]) -> list[Interval]:
    """The parts of ``windows`` that no interval of ``taken`` covers."""
    free = []
    for start, end in sorted(windows):
        for taken_start, taken_end in taken:
            if taken_end <= start or taken_start >= end:
                continue
            if taken_start > start:
                free.append((start, taken_start))
            start = max(start, taken_end)
            if start >= end:
                break
        if start < end:
            free.append((start, end))
    return free


class Availability:
    """The hours, exceptions and booked appointments of some clinicians over some days.

    ``clinicians`` is a list of ids, or a queryset of clinicians; ``clinician_ids`` is then those
    of them who have any hours. One query for each of hours, exceptions and booked appointments
    (and one for a queryset's ids), whatever the number of days. With ``busy=False`` the booked
    appointments are not read, for questions about working time only.
    """

    def __init__(
        self,
        clinicians: "Iterable[int] | models.QuerySet",
        first_day: datetime.date,
        last_day: datetime.date,
        *,
        ignore_appointment: int | None = None,
        busy: bool = True,
    ):
        chosen = isinstance(clinicians, models.QuerySet)
        ids = list(clinicians.values_list("pk", flat=True)) if chosen else list(clinicians)
        self.hours = defaultdict(list)
        self.extra = defaultdict(list)
        self.off = defaultdict(list)
        self.busy = defaultdict(list)
        found = set()
        # Unordered: the models' ordering joins the clinicians, and the windows are sorted here.
        hours = WeeklyHours.objects.filter(clinician_id__in=ids).order_by()
        for clinician_id, weekday, starts, ends in hours.values_list(
            "clinician_id", "weekday", "starts", "ends"
        ):
            self.hours[clinician_id, weekday].append((starts, ends))
            found.add(clinician_id)
        exceptions = AvailabilityException.objects.filter(
            clinician_id__in=ids, date__range=(first_day, last_day)
        ).order_by()
        for clinician_id, day, kind, starts, ends in exceptions.values_list(
            "clinician_id", "date", "kind", "starts", "ends"
        ):
            if kind == AvailabilityException.Kind.TIME_OFF:
                self.off[clinician_id, day].append((starts, ends))
            else:
                self.extra[clinician_id, day].append((starts, ends))
                found.add(clinician_id)
        if busy:
            # From the day before to the day after: a neighbouring day's booking and buffers can
            # reach into the first or the last day.
            days = (local_day_bounds(first_day - DAY)[0], local_day_bounds(last_day + DAY)[1])
            booked = Appointment.objects.filter(
                clinician_id__in=ids, status=Appointment.Status.BOOKED, blocked__overlap=days
            )
            if ignore_appointment is not None:
                booked = booked.exclude(pk=ignore_appointment)
            # Booked ranges in time order, per clinician: the slot walk depends on it. Their ends
            # as two timestamps: parsing the range in Python took most of a week's page.
            for clinician_id, lower, upper in booked.order_by("clinician_id", "blocked").values_list(
                "clinician_id", "blocked__startswith", "blocked__endswith"
            ):
                self.busy[clinician_id].append((lower, upper))
        self.clinician_ids = sorted(found) if chosen else ids
        self.busy_ends = {key: [end for _start, end in value] for key, value in self.busy.items()}

    def windows(self, clinician_id: int, day: datetime.date) -> list[Interval]:
        """The clinician's stretches of hours on a local day, as UTC intervals (before time off)."""
        stretches = [
            *self.hours.get((clinician_id, day.weekday()), ()),
            *self.extra.get((clinician_id, day), ()),
        ]
        merged = []
        for start, end in sorted(
            (local_instant(day, starts), local_instant(day, ends, latest=True)) for starts, ends in stretches
        ):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged

    def time_off(self, clinician_id: int, day: datetime.date) -> list[Interval]:
        off = []
        for starts, ends in self.off.get((clinician_id, day), ()):
            if starts is None:
                off.append(local_day_bounds(day))
            else:
                off.append((local_instant(day, starts), local_instant(day, ends, latest=True)))
        return sorted(off)

    def working(self, clinician_id: int, day: datetime.date) -> list[Interval]:
        """Hours minus time off: when the clinician works on a local day."""
        return _subtract(self.windows(clinician_id, day), self.time_off(clinician_id, day))

    def free(self, clinician_id: int, day: datetime.date) -> list[Interval]:
        """Working time that no booked appointment (with its buffers) takes."""
        return _subtract(self.working(clinician_id, day), self.busy.get(clinician_id, []))

    def is_busy(self, clinician_id: int, start: datetime.datetime, end: datetime.datetime) -> bool:
        return _overlaps(self.busy.get(clinician_id, []), self.busy_ends.get(clinician_id, []), start, end)

    def slots(
        self,
        clinician_id: int,
        day: datetime.date,
        kind: ConsultationKind,
        *,
        earliest: datetime.datetime,
        latest: datetime.datetime,
    ) -> list[Slot]:
        """Open start times for ``kind`` on a local day, from ``earliest`` to ``latest`` inclusive."""
        duration = datetime.timedelta(minutes=kind.duration_minutes)
        before = datetime.timedelta(minutes=kind.buffer_before_minutes)
        after = datetime.timedelta(minutes=kind.buffer_after_minutes)
        step = datetime.timedelta(minutes=kind.interval_minutes)
        busy = self.busy.get(clinician_id, ())
        busy_ends = self.busy_ends.get(clinician_id, ())
        off = self.time_off(clinician_id, day)
        found = []
        for window_start, window_end in self.windows(clinician_id, day):
            first = max(window_start, earliest)
            last = min(window_end - duration, latest)
            if first > last:
                continue
            # The starts each booked range (with both kinds' buffers) or time off rules out, as
            # open intervals (a, b): a start at a or b itself is free. Back-to-back is allowed.
            index = bisect.bisect_right(busy_ends, first - before)
            blocked = []
            while index < len(busy) and busy[index][0] - duration - after < last:
                blocked.append((busy[index][0] - duration - after, busy[index][1] + before))
                index += 1
            blocked += [(off_start - duration, off_end) for off_start, off_end in off]
            blocked.sort()
            # Starts are whole steps from the start of the hours; walk only the free ones.
            start = window_start + -(-(first - window_start) // step) * step
            for blocked_from, blocked_until in blocked:
                while start <= last and start <= blocked_from:
                    found.append(Slot(start, start + duration, clinician_id))
                    start += step
                if start < blocked_until:
                    start = window_start + -(-(blocked_until - window_start) // step) * step
                if start > last:
                    break
            while start <= last:
                found.append(Slot(start, start + duration, clinician_id))
                start += step
        return found


def booking_window(kind: ConsultationKind, now: datetime.datetime) -> Interval:
    """The earliest and latest start a patient may book for ``kind`` at ``now``."""
    return (
        now + datetime.timedelta(minutes=kind.minimum_notice_minutes),
        now + datetime.timedelta(days=kind.horizon_days),
    )


# The days of open times a page shows at once (the booking's, the patient's rescheduling and the
# staff's booking panel); "Earlier dates" and "Later dates" move by as many.
DAYS_SHOWN = 7


class DaysPage(NamedTuple):
    """A page of ``DAYS_SHOWN`` days of open times, with the first day of the pages either side."""

    first_day: datetime.date
    last_day: datetime.date
    earlier: datetime.date | None
    later: datetime.date | None


def days_page(value: str | None, window: Interval) -> DaysPage:
    """The page that starts on the ISO date ``value`` (the first day of ``window`` when it names no
    date), kept within the days of ``window`` (a ``booking_window``)."""
    earliest, latest = (timezone.localtime(moment).date() for moment in window)
    try:
        first_day = min(max(datetime.date.fromisoformat(value or ""), earliest), latest)
    except ValueError:
        first_day = earliest
    step = datetime.timedelta(days=DAYS_SHOWN)
    return DaysPage(
        first_day=first_day,
        last_day=first_day + step - datetime.timedelta(days=1),
        earlier=max(first_day - step, earliest) if first_day > earliest else None,
        later=first_day + step if first_day + step <= latest else None,
    )


_by_start_then_clinician = operator.itemgetter(0, 2)


def open_slots(
    *,
    kind: ConsultationKind,
    now: datetime.datetime,
    state: str | None = None,
    clinician: Clinician | None = None,
    first_day: datetime.date | None = None,
    days: int | None = None,
    ignore_appointment: Appointment | None = None,
) -> list[Slot]:
    """Every open time for ``kind``, soonest first, from its minimum notice to its horizon.

    ``state`` keeps the clinicians licensed there; ``clinician`` keeps one (who must do the kind);
    ``first_day`` and ``days`` keep the local days of one page; ``ignore_appointment`` treats that
    appointment as free (to move it). Always computed from the database: four queries, whatever
    the number of clinicians and days.
    """
    earliest, latest = booking_window(kind, now)
    first = timezone.localtime(earliest).date()
    last = timezone.localtime(latest).date()
    if first_day is not None:
        first = max(first, first_day)
    if days is not None:
        last = min(last, first + datetime.timedelta(days=days - 1))
    if first > last:
        return []
    clinicians = Clinician.objects.bookable(kind=kind, state=state)
    if clinician is not None:
        clinicians = clinicians.filter(pk=clinician.pk)
    availability = Availability(
        clinicians,
        first,
        last,
        ignore_appointment=ignore_appointment.pk if ignore_appointment is not None else None,
    )
    found = []
    day = first
    while day <= last:
        for each in availability.clinician_ids:
            found += availability.slots(each, day, kind, earliest=earliest, latest=latest)
        day += DAY
    found.sort(key=_by_start_then_clinician)
    return found


def open_times_by_day(slots: Iterable[Slot]) -> list[tuple[datetime.date, list[datetime.datetime]]]:
    """Open start times grouped by local day, each instant once however many clinicians are free then.

    What a patient chooses from: a time, not a clinician.
    """
    by_day = defaultdict(set)
    day, day_start, day_end = None, None, None
    for slot in slots:
        starts_at = slot.starts_at
        if day is None or not day_start <= starts_at < day_end:
            # Once per day for sorted slots, rather than a time-zone conversion per slot.
            day = timezone.localtime(starts_at).date()
            day_start, day_end = local_day_bounds(day)
        by_day[day].add(starts_at)
    return [(day, sorted(times)) for day, times in sorted(by_day.items())]


def slot_is_open(
    *,
    kind: ConsultationKind,
    clinician: Clinician,
    starts_at: datetime.datetime,
    now: datetime.datetime,
    ignore_appointment: Appointment | None = None,
) -> bool:
    """Whether ``starts_at`` is one of ``clinician``'s open times for ``kind``."""
    day = timezone.localtime(starts_at).date()
    slots = open_slots(
        kind=kind,
        now=now,
        clinician=clinician,
        first_day=day - DAY,
        days=3,
        ignore_appointment=ignore_appointment,
    )
    return any(slot.starts_at == starts_at for slot in slots)


def nearest_open_slots(
    *,
    kind: ConsultationKind,
    around: datetime.datetime,
    now: datetime.datetime,
    clinician: Clinician | None = None,
    state: str | None = None,
    count: int = 3,
) -> list[Slot]:
    """The ``count`` open times closest to ``around`` (before or after it), in time order."""
    day = timezone.localtime(around).date()
    slots = open_slots(kind=kind, now=now, clinician=clinician, state=state, first_day=day - 7 * DAY, days=15)
    if len(slots) < count:
        slots = open_slots(kind=kind, now=now, clinician=clinician, state=state)
    closest = sorted(slots, key=lambda slot: (abs(slot.starts_at - around), slot.starts_at))
    unique = {}
    for slot in closest:
        unique.setdefault(slot.starts_at, slot)
        if len(unique) == count:
            break
    return sorted(unique.values())


def within_working_hours(
    *, clinician: Clinician, starts_at: datetime.datetime, ends_at: datetime.datetime
) -> bool:
    """Whether [starts_at, ends_at) lies inside one stretch of the clinician's working time."""
    day = timezone.localtime(starts_at).date()
    availability = Availability([clinician.pk], day, day, busy=False)
    return any(
        start <= starts_at and ends_at <= end for start, end in availability.working(clinician.pk, day)
    )


def appointments_outside_hours(
    *, now: datetime.datetime, clinician: Clinician | None = None
) -> list[Appointment]:
    """Booked, future appointments that no longer lie inside their clinician's working time.

    After hours change or time off is added, these are the patients to move or call; they stay
    listed until moved, cancelled, or the hours change back. Times a clinic admin booked outside
    the hours on purpose are not listed. Every clinician's, or one's; three queries either way.
    """
    upcoming = Appointment.objects.filter(
        status=Appointment.Status.BOOKED,
        starts_at__gte=now,
        clinician__isnull=False,
        outside_hours_approved=False,
    )
    if clinician is not None:
        upcoming = upcoming.filter(clinician=clinician)
    upcoming = list(
        upcoming.select_related("consultation_request", "kind", "clinician").order_by("starts_at", "pk")
    )
    if not upcoming:
        return []
    first = timezone.localtime(upcoming[0].starts_at).date()
    last = timezone.localtime(upcoming[-1].starts_at).date()
    clinician_ids = sorted({appointment.clinician_id for appointment in upcoming})
    availability = Availability(clinician_ids, first, last, busy=False)
    outside = []
    for appointment in upcoming:
        day = timezone.localtime(appointment.starts_at).date()
        working = availability.working(appointment.clinician_id, day)
        if not any(start <= appointment.starts_at and appointment.ends_at <= end for start, end in working):
            outside.append(appointment)
    return outside
