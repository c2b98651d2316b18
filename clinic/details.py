"""The clinic's facts, for every page, form, e-mail and calendar: the one place to read them.

Clinic admins edit the facts in the staff workspace (``education.models.facts``). They are read
from PostgreSQL in one query and kept in the shared cache until they change; with the cache down
they are read from the database every time. Before a clinic profile exists (a fresh database),
the name, phone and address come from the settings and nothing else is known.

    from clinic import details
    details.get().phone                      # "(555) 010-0100"
    details.get().next_opening(after=now)    # an aware datetime, or None
"""

import contextlib
import datetime
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal

import phonenumbers
from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.core.cache import cache
from django.db.models import OuterRef
from django.db.models.functions import JSONObject
from django.utils import timezone
from django.utils.translation import gettext

from education.models import FACTS_CACHE_KEY, STATES, ClinicProfile, Closure, OpeningHours, TreatmentPrice

# The cached facts live this long at most, so a change made behind the admin's back shows in time.
CACHE_SECONDS = 60 * 60
# How far ahead ``next_opening`` looks before it gives up (a clinic closed for good).
LOOK_AHEAD_DAYS = 370
STATE_NAMES = dict(STATES)
WEEKDAYS = dict(OpeningHours.Weekday.choices)


def _phone(number):
    try:
        parsed = phonenumbers.parse(number, "US")
    except phonenumbers.NumberParseException:
        return number, number
    return (
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL),
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
    )


@dataclass(frozen=True)
class Hours:
    weekday: int
    opens: datetime.time
    closes: datetime.time

    @property
    def day_name(self):
        return WEEKDAYS[self.weekday]


@dataclass(frozen=True)
class Closed:
    first_day: datetime.date
    last_day: datetime.date
    reason: str


@dataclass(frozen=True)
class Price:
    kind: str
    price: Decimal
    unit: str
    typical_series: str
    series_price: Decimal | None
    insurance: str


@dataclass(frozen=True)
class ClinicFacts:
    """The clinic's facts as pages and e-mails use them. Times are in the clinic's time zone."""

    name: str
    phone: str
    phone_tel: str
    address: str
    site_url: str
    time_zone_name: str = settings.TIME_ZONE
    email: str = ""
    street_address: str = ""
    locality: str = ""
    region: str = ""
    postal_code: str = ""
    consultation_fee: Decimal | None = None
    consultation_fee_note: str = ""
    minimum_age: int = 18
    states_served: tuple[str, ...] = ()
    insurance_note: str = ""
    what_to_bring: tuple[str, ...] = ()
    first_consultation: str = ""
    treatment_day: str = ""
    aftercare: str = ""
    urgent_protocol: str = ""
    hours: tuple[Hours, ...] = ()
    closures: tuple[Closed, ...] = ()
    prices: tuple[Price, ...] = ()
    is_configured: bool = False

    @property
    def time_zone(self):
        return zoneinfo.ZoneInfo(self.time_zone_name)

    @property
    def time_zone_label(self):
        """The zone as patients say it: "New York time" for America/New_York."""
        city = self.time_zone_name.rsplit("/", 1)[-1].replace("_", " ")
        return gettext("%(city)s time") % {"city": city}

    @property
    def consultation_is_free(self):
        return self.consultation_fee is not None and self.consultation_fee == 0

    @property
    def states_served_names(self):
        """The states served, by name, alphabetically."""
        return sorted(STATE_NAMES.get(code, code) for code in self.states_served)

    def serves_state(self, code):
        return code in self.states_served

    @property
    def week(self):
        """Each weekday, Monday first, with its opening hours (an empty list: closed)."""
        return [
            {"weekday": day, "name": name, "hours": [h for h in self.hours if h.weekday == day]}
            for day, name in WEEKDAYS.items()
        ]

    @property
    def week_summary(self):
        """Days with the same hours grouped, in order: ``[{"first": "Monday", "last": "Friday", "hours": [...]}]``.

        Closed days are left out.
        """
        groups = []
        for day in self.week:
            if not day["hours"]:
                continue
            spans = [(h.opens, h.closes) for h in day["hours"]]
            last = groups[-1] if groups else None
            if last and last["spans"] == spans and last["weekday"] == day["weekday"] - 1:
                last.update(last=day["name"], weekday=day["weekday"])
            else:
                groups.append(
                    {
                        "first": day["name"],
                        "last": day["name"],
                        "weekday": day["weekday"],
                        "spans": spans,
                        "hours": day["hours"],
                    }
                )
        return groups

    def upcoming_closures(self, *, today=None, days=90):
        """Closures that end today or later and start within ``days`` days."""
        today = today or timezone.localdate(timezone=self.time_zone)
        horizon = today + datetime.timedelta(days=days)
        return [c for c in self.closures if c.last_day >= today and c.first_day <= horizon]

    def is_closed_on(self, day):
        return any(c.first_day <= day <= c.last_day for c in self.closures)

    def _periods_on(self, day):
        """The day's opening periods as aware datetimes, in order (none on a closure)."""
        if self.is_closed_on(day):
            return []
        zone = self.time_zone
        periods = []
        for hours in self.hours:
            if hours.weekday == day.weekday():
                opens = datetime.datetime.combine(day, hours.opens, tzinfo=zone)
                closes = datetime.datetime.combine(day, hours.closes, tzinfo=zone)
                periods.append((opens, closes))
        return sorted(periods)

    def is_open(self, at):
        """Whether the clinic is open at the aware datetime ``at``."""
        local = at.astimezone(self.time_zone)
        return any(opens <= at < closes for opens, closes in self._periods_on(local.date()))

    def is_open_now(self):
        return self.is_open(timezone.now())

    def next_opening(self, *, after=None):
        """The first moment at or after ``after`` (default: now) when the clinic is open, or None.

        While the clinic is open that is ``after`` itself; otherwise the start of its next
        opening period, holidays and closures skipped, as an aware datetime in the clinic's zone.
        """
        after = (after or timezone.now()).astimezone(self.time_zone)
        day = after.date()
        for _ in range(LOOK_AHEAD_DAYS):
            for opens, closes in self._periods_on(day):
                if after < closes:
                    return max(opens, after)
            day += datetime.timedelta(days=1)
        return None


def _from_settings():
    display, tel = _phone(settings.CLINIC_PHONE)
    return ClinicFacts(
        name=settings.CLINIC_NAME,
        phone=display,
        phone_tel=tel,
        address=settings.CLINIC_ADDRESS,
        site_url=settings.CLINIC_SITE_URL.rstrip("/"),
    )


def _rows(model, *fields):
    return ArraySubquery(
        model.objects.filter(profile=OuterRef("pk"))
        .order_by(*model._meta.ordering)
        .values(json=JSONObject(**{name: name for name in fields}))
    )


def _read_database():
    """The facts from PostgreSQL: the profile with its hours, closures and prices, in one query."""
    profile = (
        ClinicProfile.objects.annotate(
            hours_rows=_rows(OpeningHours, "weekday", "opens", "closes"),
            closure_rows=_rows(Closure, "first_day", "last_day", "reason"),
            price_rows=_rows(
                TreatmentPrice, "kind", "price", "unit", "typical_series", "series_price", "insurance"
            ),
        )
        .order_by()
        .first()
    )
    if profile is None:
        return _from_settings()
    display, tel = _phone(profile.phone)
    time = datetime.time.fromisoformat
    day = datetime.date.fromisoformat
    return ClinicFacts(
        name=profile.name,
        phone=display,
        phone_tel=tel,
        address=f"{profile.street_address}, {profile.locality}, {profile.region} {profile.postal_code}",
        site_url=settings.CLINIC_SITE_URL.rstrip("/"),
        time_zone_name=profile.time_zone,
        email=profile.email,
        street_address=profile.street_address,
        locality=profile.locality,
        region=profile.region,
        postal_code=profile.postal_code,
        consultation_fee=profile.consultation_fee,
        consultation_fee_note=profile.consultation_fee_note,
        minimum_age=profile.minimum_age,
        states_served=tuple(sorted(profile.states_served)),
        insurance_note=profile.insurance_note,
        what_to_bring=tuple(line.strip() for line in profile.what_to_bring.splitlines() if line.strip()),
        first_consultation=profile.first_consultation,
        treatment_day=profile.treatment_day,
        aftercare=profile.aftercare,
        urgent_protocol=profile.urgent_protocol,
        hours=tuple(
            Hours(weekday=row["weekday"], opens=time(row["opens"]), closes=time(row["closes"]))
            for row in profile.hours_rows
        ),
        closures=tuple(
            Closed(first_day=day(row["first_day"]), last_day=day(row["last_day"]), reason=row["reason"])
            for row in profile.closure_rows
        ),
        prices=tuple(
            Price(
                kind=row["kind"],
                price=Decimal(str(row["price"])),
                unit=row["unit"],
                typical_series=row["typical_series"],
                series_price=None if row["series_price"] is None else Decimal(str(row["series_price"])),
                insurance=row["insurance"],
            )
            for row in profile.price_rows
        ),
        is_configured=True,
    )


def get():
    """The clinic's facts: from the shared cache, or from the database (and then into the cache)."""
    try:
        facts = cache.get(FACTS_CACHE_KEY)
    except Exception:  # noqa: BLE001 - the cache is an optimisation: without it, read the database.
        facts = None
    if facts is not None:
        return facts
    facts = _read_database()
    with contextlib.suppress(Exception):
        cache.set(FACTS_CACHE_KEY, facts, CACHE_SECONDS)
    return facts


def name():
    return get().name


def phone():
    return get().phone


def site_url():
    return settings.CLINIC_SITE_URL.rstrip("/")


def is_open_now():
    return get().is_open_now()


def next_opening(*, after=None):
    return get().next_opening(after=after)
