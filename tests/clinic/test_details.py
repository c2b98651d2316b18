"""The clinic's facts as every part of the site reads them (``clinic.details``)."""

import datetime
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic import details
from education.models import ClinicProfile, Closure, OpeningHours, TreatmentPrice
from education.services import clinic_facts_load_samples

pytestmark = pytest.mark.django_db

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
UTC = datetime.UTC


def at(*args):
    """An instant given in New York time."""
    return datetime.datetime(*args, tzinfo=NEW_YORK)


def test_sample_facts_are_read_from_the_database(clinic_facts):
    facts = details.get()
    assert facts.is_configured
    assert facts.phone == "(555) 010-0100"
    assert facts.phone_tel == "+15550100100"
    assert facts.address == "100 Main Street, Springfield, NY 10001"
    assert facts.consultation_fee == 150
    assert facts.minimum_age == 18
    assert facts.states_served == ("CT", "NJ", "NY")
    assert facts.states_served_names == ["Connecticut", "New Jersey", "New York"]
    assert [(p.kind, p.price, p.series_price) for p in facts.prices] == [
        ("IV ketamine infusion", 450, 2700),
        ("Spravato (esketamine) nasal spray", 250, None),
        ("Booster infusion", 450, None),
    ]
    assert [(h.weekday, h.opens, h.closes) for h in facts.hours][-2:] == [
        (4, datetime.time(9), datetime.time(17)),
        (5, datetime.time(9), datetime.time(13)),
    ]
    assert facts.what_to_bring[0] == "A photo ID"
    assert facts.time_zone_label == "New York time"


def test_facts_are_one_query_then_come_from_the_cache(clinic_facts):
    with CaptureQueriesContext(connection) as first:
        details.get()
    with CaptureQueriesContext(connection) as second:
        details.get()
    assert len(first.captured_queries) == 1
    assert len(second.captured_queries) == 0


def test_a_change_shows_at_once(clinic_facts):
    assert details.get().phone == "(555) 010-0100"
    clinic_facts.phone = "+1 212 555 0199"
    clinic_facts.save()
    assert details.get().phone == "(212) 555-0199"
    OpeningHours.objects.get(weekday=5).delete()
    assert 5 not in {h.weekday for h in details.get().hours}
    TreatmentPrice.objects.create(
        profile=clinic_facts, kind="Maintenance", price=400, unit="per infusion", position=9
    )
    facts = details.get()
    assert facts.prices[-1].kind == "Maintenance"


def test_without_the_cache_the_facts_come_from_the_database(clinic_facts, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            # Nothing listens on port 1: every cache call fails.
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    assert details.get().phone == "(555) 010-0100"
    clinic_facts.phone = "+1 212 555 0199"
    clinic_facts.save()
    assert details.get().phone == "(212) 555-0199"


def test_without_a_clinic_profile_name_and_phone_come_from_the_settings(settings):
    settings.CLINIC_NAME = "Harbor Ketamine Clinic"
    settings.CLINIC_PHONE = "+1 212 555 0199"
    facts = details.get()
    assert not facts.is_configured
    assert (facts.name, facts.phone, facts.hours, facts.next_opening()) == (
        "Harbor Ketamine Clinic",
        "(212) 555-0199",
        (),
        None,
    )


@pytest.mark.parametrize(
    ("after", "expected_utc"),
    [
        # Open: the moment itself.
        (at(2026, 12, 2, 10, 30), datetime.datetime(2026, 12, 2, 15, 30, tzinfo=UTC)),
        # Friday evening: Saturday 9:00.
        (at(2026, 12, 4, 18, 0), datetime.datetime(2026, 12, 5, 14, 0, tzinfo=UTC)),
        # Saturday after 13:00, Sunday closed: Monday 9:00.
        (at(2026, 12, 5, 13, 0), datetime.datetime(2026, 12, 7, 14, 0, tzinfo=UTC)),
        # Thanksgiving (Thursday and Friday closed): Saturday 9:00.
        (at(2026, 11, 25, 17, 0), datetime.datetime(2026, 11, 28, 14, 0, tzinfo=UTC)),
        # Across the end of daylight saving time (1 November 2026): Monday 9:00 EST.
        (at(2026, 10, 31, 14, 0), datetime.datetime(2026, 11, 2, 14, 0, tzinfo=UTC)),
        # Across its start (8 March 2026): Monday 9:00 EDT.
        (at(2026, 3, 7, 14, 0), datetime.datetime(2026, 3, 9, 13, 0, tzinfo=UTC)),
    ],
)
def test_next_opening(clinic_facts, after, expected_utc):
    assert details.next_opening(after=after) == expected_utc


def test_is_open(clinic_facts):
    facts = details.get()
    assert facts.is_open(at(2026, 12, 2, 9, 0))
    assert not facts.is_open(at(2026, 12, 2, 17, 0))
    assert not facts.is_open(at(2026, 12, 6, 11, 0))  # a Sunday
    assert not facts.is_open(at(2026, 12, 25, 11, 0))  # Christmas, a Friday
    assert facts.is_open(datetime.datetime(2026, 12, 2, 14, 0, tzinfo=UTC))  # 9:00 in New York


def test_closure_added_by_an_admin_moves_the_next_opening(clinic_facts):
    Closure.objects.create(
        profile=clinic_facts,
        first_day=datetime.date(2026, 12, 7),
        last_day=datetime.date(2026, 12, 7),
        reason="Training",
    )
    assert details.next_opening(after=at(2026, 12, 5, 13, 0)) == at(2026, 12, 8, 9, 0)


def test_loading_samples_twice_keeps_an_admins_edits(clinic_facts):
    clinic_facts.consultation_fee = 0
    clinic_facts.save()
    OpeningHours.objects.filter(weekday=5).delete()
    assert clinic_facts_load_samples() == "unchanged"
    profile = ClinicProfile.objects.get()
    assert profile.consultation_fee == 0
    assert not OpeningHours.objects.filter(weekday=5).exists()
    assert details.get().consultation_is_free


def test_samples_are_marked_as_samples(clinic_facts):
    assert {"phone", "consultation_fee", "states_served", "urgent_protocol"} <= set(
        clinic_facts.sample_fields
    )
    assert OpeningHours.objects.filter(is_sample=False).count() == 0
    assert TreatmentPrice.objects.filter(is_sample=True).count() == 3
