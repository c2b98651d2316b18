"""How soon the clinic answers a request: deadlines on the opening-hours clock of its facts.

An urgent request is due within ``CONSULTATION_URGENT_TARGET_MINUTES`` of opening time (counted
from when it arrived, if the clinic was open then); any other within
``CONSULTATION_ROUTINE_TARGET_HOURS`` of opening time (8: one working day). Opening hours and
closures are the clinic's facts (``clinic.details``), which a clinic admin edits. A request still
"new" after its deadline is overdue. Before any opening hours are entered the clock runs round
the clock.
"""

import datetime

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from clinic import details

# A year with no opening hours at all is a clinic that has not entered them.
LOOK_AHEAD_DAYS = 370

# Shown on an urgent request's page until a clinic admin writes the clinic's own.
DEFAULT_URGENT_PROTOCOL = _(
    "During opening hours, call the patient within the hour; keep trying, and tell the on-call "
    "clinician if you cannot reach them. Say who you are and that you are calling about their "
    "request, and ask whether they are safe right now; do not discuss their answers, a clinician "
    "will. If they are in danger now, or you cannot reach them and are worried for their safety, "
    "call 911. Remind them that they can call or text 988 at any time, or text HOME to 741741."
)


def urgent_protocol():
    """What staff do with an urgent request: the clinic's own words, or a sensible default."""
    return details.get().urgent_protocol.strip() or str(DEFAULT_URGENT_PROTOCOL)


def _periods_from(facts, moment):
    """The clinic's opening periods that end after ``moment``, the first cut to start at ``moment``."""
    day = moment.astimezone(facts.time_zone).date()
    for _offset in range(LOOK_AHEAD_DAYS):
        if not facts.is_closed_on(day):
            zone = facts.time_zone
            periods = sorted(
                (
                    datetime.datetime.combine(day, hours.opens, tzinfo=zone),
                    datetime.datetime.combine(day, hours.closes, tzinfo=zone),
                )
                for hours in facts.hours
                if hours.weekday == day.weekday()
            )
            for start, end in periods:
                if end > moment:
                    yield max(start, moment), end
        day += datetime.timedelta(days=1)


def add_open_time(moment, duration, *, facts=None):
    """The moment when ``duration`` of opening hours has passed since ``moment``."""
    facts = facts or details.get()
    remaining = duration
    for start, end in _periods_from(facts, moment):
        if start + remaining <= end:
            return start + remaining
        remaining -= end - start
    return moment + duration  # no opening hours known: count every hour


def last_closing(*, before, facts=None):
    """When the clinic last closed before ``before`` (within a week), or None."""
    facts = facts or details.get()
    zone = facts.time_zone
    day = before.astimezone(zone).date()
    for _offset in range(8):
        if not facts.is_closed_on(day):
            ends = [
                datetime.datetime.combine(day, hours.closes, tzinfo=zone)
                for hours in facts.hours
                if hours.weekday == day.weekday()
            ]
            ends = [end for end in ends if end <= before]
            if ends:
                return max(ends)
        day -= datetime.timedelta(days=1)
    return None


def respond_by(*, received: datetime.datetime, urgent: bool) -> datetime.datetime:
    """The deadline for a first contact with a request received at ``received``."""
    if urgent:
        target = datetime.timedelta(minutes=settings.CONSULTATION_URGENT_TARGET_MINUTES)
    else:
        target = datetime.timedelta(hours=settings.CONSULTATION_ROUTINE_TARGET_HOURS)
    return add_open_time(received, target)
