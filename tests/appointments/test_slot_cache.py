"""Open times through the shared cache: the same times as from the database, never a stale one.

Every change to what is open (a booking, a move, a cancellation, hours, time off, licences) is
seen by the next page at once; with Redis down the times are computed as without a cache.
"""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone, translation

from appointments import slot_cache
from appointments.forms.times import time_label, time_labels
from appointments.models import Appointment, AvailabilityException
from appointments.services import (
    appointment_book,
    appointment_cancel,
    appointment_reschedule_by_patient,
)
from appointments.slots import open_slots, open_times_by_day
from clinic.cache import cache_reconnected
from tests.factories import make_clinician, make_kind, make_request

from .test_staff_times import hours_form

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
UTC = datetime.UTC
MONDAY, TUESDAY = 0, 1
# Monday 1 June 2026 in New York (EDT, UTC-4); "now" is the Friday before.
DAY = datetime.date(2026, 6, 1)
NOW = datetime.datetime(2026, 5, 29, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clinic_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"


def at(hour, minute=0, day=DAY):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=NEW_YORK).astimezone(UTC)


def shown(kind, *, now=NOW, state="NY", days=1):
    """The start times a patient is shown on ``DAY`` (through the cache)."""
    return [
        slot.starts_at
        for slot in open_slots(kind=kind, now=now, state=state, first_day=DAY, days=days, cached=True)
    ]


@pytest.fixture
def kind():
    return make_kind(duration_minutes=60, interval_minutes=60)


@pytest.fixture
def reyes(kind):
    return make_clinician(
        kinds=[kind], states=["NY"], hours=[(MONDAY, "09:00", "12:00")], display_name="Dr. Reyes"
    )


def test_cached_times_are_the_database_times_at_every_moment_of_a_day(settings):
    kind = make_kind(
        duration_minutes=45,
        buffer_after_minutes=15,
        interval_minutes=15,
        minimum_notice_minutes=90,
        horizon_days=2,
    )
    clinician = make_clinician(
        kinds=[kind],
        hours=[(day, "09:00", "12:00") for day in range(5)] + [(day, "13:00", "17:00") for day in range(5)],
    )
    make_clinician(kinds=[kind], hours=[(MONDAY, "08:00", "18:00"), (TUESDAY, "10:00", "14:00")])
    # Off the grid (typed in by hand) and part-day time off: starts resume on the grid after them.
    Appointment.objects.create(
        consultation_request=make_request(),
        clinician=clinician,
        kind=kind,
        starts_at=at(10, 5),
        duration_minutes=45,
        buffer_after_minutes=15,
        modality=Appointment.Modality.TELEHEALTH,
        telehealth_instructions="Join by the link.",
    )
    AvailabilityException.objects.create(
        clinician=clinician,
        date=DAY + datetime.timedelta(days=1),
        kind=AvailabilityException.Kind.TIME_OFF,
        starts=datetime.time(14, 10),
        ends=datetime.time(15, 0),
    )
    moment = at(6, 0)
    compared = 0
    while moment <= at(19, 0):
        expected = open_slots(kind=kind, now=moment)
        assert open_slots(kind=kind, now=moment, cached=True) == expected, moment
        assert open_slots(kind=kind, now=moment, cached=True) == expected, moment
        compared += 1
        moment += datetime.timedelta(minutes=7)
    assert compared == 112
    # The comparison was not between two empty lists: a morning and an afternoon moment.
    assert open_slots(kind=kind, now=at(6, 0), cached=True)[0].starts_at == at(8, 0)
    assert at(10, 0) not in [
        slot.starts_at
        for slot in open_slots(kind=kind, now=at(6, 0), cached=True)
        if slot.clinician_id == clinician.pk
    ]


def test_a_booking_is_not_offered_on_the_next_page(kind, reyes):
    assert shown(kind) == [at(9), at(10), at(11)]

    appointment_book(
        consultation_request=make_request(state="NY"),
        clinician=reyes,
        kind=kind,
        starts_at=at(10),
        modality=Appointment.Modality.TELEHEALTH,
        by=None,
        now=NOW,
    )

    assert shown(kind) == [at(9), at(11)]


def test_a_cancelled_time_is_offered_again_and_a_moved_one_swaps(kind, reyes, login_as):
    booked = appointment_book(
        consultation_request=make_request(state="NY"),
        clinician=reyes,
        kind=kind,
        starts_at=at(10),
        modality=Appointment.Modality.TELEHEALTH,
        by=None,
        now=NOW,
    )
    assert shown(kind) == [at(9), at(11)]

    appointment_reschedule_by_patient(appointment=booked, starts_at=at(11), now=NOW)
    assert shown(kind) == [at(9), at(10)]

    booked.refresh_from_db()
    appointment_cancel(appointment=booked, by=login_as("front_desk"))
    assert shown(kind) == [at(9), at(10), at(11)]


def test_hours_time_off_and_licences_saved_in_the_admin_show_at_once(client, login_as, kind, reyes):
    login_as("clinic_admin")
    assert shown(kind) == [at(9), at(10), at(11)]

    data = hours_form(reyes)
    data["weekly_hours-0-ends"] = "11:00"
    response = client.post(f"/admin/appointments/clinician/{reyes.pk}/change/", data)
    assert response.status_code == 302
    assert shown(kind) == [at(9), at(10)]

    reyes.refresh_from_db()
    response = client.post(
        f"/admin/appointments/clinician/{reyes.pk}/change/",
        hours_form(reyes, exceptions=[(DAY, "time_off", "09:00", "10:00")]),
    )
    assert response.status_code == 302
    assert shown(kind) == [at(10)]

    data = hours_form(reyes)
    data["licensed_states"] = ["NJ"]
    response = client.post(f"/admin/appointments/clinician/{reyes.pk}/change/", data)
    assert response.status_code == 302
    assert shown(kind, state="NY") == []
    assert shown(kind, state="NJ") == [at(10)]


def test_the_version_changes_again_when_the_transaction_commits(
    kind, reyes, django_capture_on_commit_callbacks
):
    key = "appointments:open-times:test"
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        slot_cache.open_times_changed()
        # Another request, reading the rows as they were before this commit, caches its answer.
        version, _found = slot_cache.open_times_get(key)
        slot_cache.open_times_set(key, version, ["stale"])
        assert slot_cache.open_times_get(key) == (version, ["stale"])
    assert len(callbacks) == 1
    new_version, found = slot_cache.open_times_get(key)
    assert new_version != version
    assert found is None


def test_the_cache_coming_back_after_an_outage_makes_what_it_held_stale(kind, reyes):
    key = "appointments:open-times:test"
    version, _found = slot_cache.open_times_get(key)
    slot_cache.open_times_set(key, version, ["from before the outage"])

    cache_reconnected.send(sender=None)

    assert slot_cache.open_times_get(key)[1] is None


def test_a_hit_reads_no_table_and_a_miss_one_query(kind, reyes, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert len(shown(kind)) == 3
    with django_assert_num_queries(0):
        assert len(shown(kind)) == 3
    with django_assert_num_queries(1):
        assert len(open_slots(kind=kind, now=NOW, first_day=DAY, days=1)) == 3


def test_minimum_notice_is_applied_to_cached_times_when_read(kind, reyes):
    assert shown(kind) == [at(9), at(10), at(11)]
    assert shown(kind, now=at(9, 30)) == [at(10), at(11)]
    assert shown(kind, now=at(10)) == [at(10), at(11)]
    assert shown(kind, now=at(11, 1)) == []


def test_with_redis_down_times_are_computed_and_nothing_is_kept(settings, kind, reyes):
    from tests.faults.conftest import RedisServer

    server = RedisServer().start()
    try:
        settings.CACHES = {
            "default": {
                **settings.CACHES["default"],
                "LOCATION": server.url,
                "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5, "retry_after": 60},
            }
        }
        assert shown(kind) == [at(9), at(10), at(11)]
        assert server.client().dbsize() == 2, "the version and the day's times"

        server.kill()
        appointment_book(
            consultation_request=make_request(state="NY"),
            clinician=reyes,
            kind=kind,
            starts_at=at(10),
            modality=Appointment.Modality.TELEHEALTH,
            by=None,
            now=NOW,
        )
        assert shown(kind) == [at(9), at(11)]
        assert cache.get(slot_cache.VERSION_KEY) is None
    finally:
        server.kill()


def test_labels_computed_per_day_are_each_times_own_label_in_english_and_spanish(settings):
    # The autumn change (1 November 2026) and an ordinary day, hour by hour.
    autumn = [
        datetime.datetime(2026, 11, 1, 4, 0, tzinfo=UTC) + datetime.timedelta(minutes=30 * n)
        for n in range(10)
    ]
    ordinary = [at(9), at(9, 15), at(13), at(16, 45)]
    times = open_times_by_day([type("Slot", (), {"starts_at": moment})() for moment in autumn + ordinary])
    for language in ("en", "es"):
        with translation.override(language):
            labels = time_labels(times)
            assert labels == {moment: time_label(moment) for moment in autumn + ordinary}
    with translation.override("en"):
        labels = time_labels(times)
    assert [labels[moment] for moment in autumn] == [
        "12:00 AM",
        "12:30 AM",
        "1:00 AM",
        "1:30 AM",
        "1:00 AM",
        "1:30 AM",
        "2:00 AM",
        "2:30 AM",
        "3:00 AM",
        "3:30 AM",
    ]
    assert [labels[moment] for moment in ordinary] == ["9:00 AM", "9:15 AM", "1:00 PM", "4:45 PM"]
    assert timezone.get_current_timezone_name() == "America/New_York"
