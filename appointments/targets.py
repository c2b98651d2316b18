"""How soon the clinic answers a request: its opening hours as a clock, and each request's deadline.

An urgent request is due within ``CONSULTATION_URGENT_TARGET_MINUTES`` of opening time (counted
from when it arrived, if the clinic was open then); any other within
``CONSULTATION_ROUTINE_TARGET_HOURS`` of opening time (8: one working day). A request still "new"
after its deadline is overdue. The hours come from ``CLINIC_OPENING_HOURS`` (such as
``mon-fri 09:00-17:00; sat 09:00-13:00``), in the clinic's time zone.
"""

import datetime
import re
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# A year of closed days is a mistake in the setting, not a clinic: stop looking.
LOOK_AHEAD_DAYS = 366


@dataclass(frozen=True)
class OpeningHours:
    """Opening periods per weekday (Monday is 0), as (opens, closes) local times."""

    periods: dict[int, list[tuple[datetime.time, datetime.time]]]
    zone: ZoneInfo

    def _periods_on(self, day):
        for opens, closes in self.periods.get(day.weekday(), []):
            yield (
                datetime.datetime.combine(day, opens, tzinfo=self.zone),
                datetime.datetime.combine(day, closes, tzinfo=self.zone),
            )

    def periods_from(self, moment):
        """The opening periods that end after ``moment``, in order, starting at ``moment`` at the earliest."""
        local = moment.astimezone(self.zone)
        for offset in range(LOOK_AHEAD_DAYS):
            for start, end in self._periods_on(local.date() + datetime.timedelta(days=offset)):
                if end > moment:
                    yield max(start, moment), end

    def is_open(self, moment):
        # The first period from a moment inside opening hours starts at that very moment.
        start, _end = next(self.periods_from(moment), (None, None))
        return start == moment

    def next_opening(self, *, after):
        """When the clinic is next open at or after ``after`` (``after`` itself during opening hours)."""
        start, _end = next(self.periods_from(after))
        return start

    def last_closing(self, *, before):
        """When the clinic last closed before ``before``; None if it has no hours at all."""
        local = before.astimezone(self.zone)
        for offset in range(LOOK_AHEAD_DAYS):
            day = local.date() - datetime.timedelta(days=offset)
            ends = [end for _start, end in self._periods_on(day) if end <= before]
            if ends:
                return max(ends)
        return None

    def add_open_time(self, moment, duration):
        """The moment when ``duration`` of opening hours has passed since ``moment``."""
        remaining = duration
        for start, end in self.periods_from(moment):
            if start + remaining <= end:
                return start + remaining
            remaining -= end - start
        raise ImproperlyConfigured("CLINIC_OPENING_HOURS has no opening hours in the coming year.")


def parse_opening_hours(text, zone):
    """``mon-fri 09:00-17:00; sat 09:00-13:00`` as ``OpeningHours``."""
    periods = {}
    for part in filter(None, (piece.strip() for piece in text.lower().split(";"))):
        match = re.fullmatch(r"([a-z]{3})(?:-([a-z]{3}))?\s+(\d\d:\d\d)-(\d\d:\d\d)", part)
        if not match or match[1] not in DAYS or (match[2] and match[2] not in DAYS):
            raise ImproperlyConfigured(f"CLINIC_OPENING_HOURS: cannot read “{part}”.")
        first = DAYS.index(match[1])
        last = DAYS.index(match[2]) if match[2] else first
        opens, closes = (datetime.time.fromisoformat(value) for value in (match[3], match[4]))
        if closes <= opens:
            raise ImproperlyConfigured(f"CLINIC_OPENING_HOURS: “{part}” closes before it opens.")
        for weekday in range(first, last + 1):
            periods.setdefault(weekday, []).append((opens, closes))
    if not periods:
        raise ImproperlyConfigured("CLINIC_OPENING_HOURS names no opening hours.")
    return OpeningHours(periods={day: sorted(hours) for day, hours in periods.items()}, zone=zone)


@cache
def _opening_hours(text, zone_name):
    return parse_opening_hours(text, ZoneInfo(zone_name))


def opening_hours():
    """The clinic's opening hours, from the settings."""
    return _opening_hours(settings.CLINIC_OPENING_HOURS, settings.TIME_ZONE)


def respond_by(*, received: datetime.datetime, urgent: bool) -> datetime.datetime:
    """The deadline for a first contact with a request received at ``received``."""
    if urgent:
        target = datetime.timedelta(minutes=settings.CONSULTATION_URGENT_TARGET_MINUTES)
    else:
        target = datetime.timedelta(hours=settings.CONSULTATION_ROUTINE_TARGET_HOURS)
    return opening_hours().add_open_time(received, target)
