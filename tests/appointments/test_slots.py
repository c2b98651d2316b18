"""Open times from clinicians' hours: daylight-saving changes, notice, horizon, buffers, exceptions, licences."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from appointments.forms.times import time_label, time_labels
from appointments.models import Appointment, AvailabilityException
from appointments.services import Source, appointment_book, appointment_cancel, appointment_move
from appointments.slots import (
    DAYS_SHOWN,
    appointments_outside_hours,
    days_page,
    local_instant,
    open_slots,
    open_times_by_day,
    slot_is_open,
)
from tests.factories import make_clinician, make_kind, make_request

from .test_staff_times import hours_form

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
SUNDAY, MONDAY, TUESDAY, SATURDAY = 6, 0, 1, 5


def utc(text):
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC)


def starts(slots):
    return [slot.starts_at for slot in slots]


def book(clinician, kind, starts_at, *, status=Appointment.Status.BOOKED):
    return Appointment.objects.create(
        consultation_request=make_request(),
        clinician=clinician,
        kind=kind,
        starts_at=starts_at,
        duration_minutes=kind.duration_minutes,
        buffer_before_minutes=kind.buffer_before_minutes,
        buffer_after_minutes=kind.buffer_after_minutes,
        modality=Appointment.Modality.TELEHEALTH,
        telehealth_instructions="Join by the link in your e-mail.",
        status=status,
    )


@pytest.fixture
def half_hour():
    return make_kind(duration_minutes=30, interval_minutes=30)


def test_spring_change_offers_no_time_that_does_not_exist(settings, half_hour):
    settings.TIME_ZONE = "America/New_York"
    make_clinician(kinds=[half_hour], hours=[(SUNDAY, "00:00", "04:00")])

    slots = open_slots(
        kind=half_hour, now=utc("2026-03-01 12:00"), first_day=datetime.date(2026, 3, 8), days=1
    )

    # 00:00-02:00 EST (UTC-5), then the clocks jump to 03:00 EDT (UTC-4): three real hours.
    assert starts(slots) == [
        utc("2026-03-08 05:00"),  # 00:00 EST
        utc("2026-03-08 05:30"),  # 00:30 EST
        utc("2026-03-08 06:00"),  # 01:00 EST
        utc("2026-03-08 06:30"),  # 01:30 EST
        utc("2026-03-08 07:00"),  # 03:00 EDT
        utc("2026-03-08 07:30"),  # 03:30 EDT, ends at 04:00 EDT
    ]
    assert "02:30" not in [f"{slot.local_start:%H:%M}" for slot in slots]


def test_autumn_change_offers_each_real_instant_of_the_repeated_hour_once(settings, half_hour):
    settings.TIME_ZONE = "America/New_York"
    make_clinician(kinds=[half_hour], hours=[(SUNDAY, "00:00", "04:00")])

    slots = open_slots(
        kind=half_hour, now=utc("2026-10-25 12:00"), first_day=datetime.date(2026, 11, 1), days=1
    )

    # 00:00 EDT (UTC-4) to 04:00 EST (UTC-5): five real hours, 01:00-02:00 twice.
    assert starts(slots) == [
        utc("2026-11-01 04:00"),  # 00:00 EDT
        utc("2026-11-01 04:30"),  # 00:30 EDT
        utc("2026-11-01 05:00"),  # 01:00 EDT
        utc("2026-11-01 05:30"),  # 01:30 EDT
        utc("2026-11-01 06:00"),  # 01:00 EST
        utc("2026-11-01 06:30"),  # 01:30 EST
        utc("2026-11-01 07:00"),  # 02:00 EST
        utc("2026-11-01 07:30"),  # 02:30 EST
        utc("2026-11-01 08:00"),  # 03:00 EST
        utc("2026-11-01 08:30"),  # 03:30 EST, ends at 04:00 EST
    ]
    assert len(set(starts(slots))) == 10


def test_local_instant_of_a_missing_and_of_a_repeated_time(settings):
    settings.TIME_ZONE = "America/New_York"
    assert local_instant(datetime.date(2026, 3, 8), datetime.time(2, 30)) == utc("2026-03-08 07:00")
    assert local_instant(datetime.date(2026, 11, 1), datetime.time(1, 30)) == utc("2026-11-01 05:30")
    assert local_instant(datetime.date(2026, 11, 1), datetime.time(1, 30), latest=True) == utc(
        "2026-11-01 06:30"
    )
    assert local_instant(datetime.date(2026, 7, 1), datetime.time(9, 0)) == utc("2026-07-01 13:00")


def test_minimum_notice_keeps_times_too_soon_out(settings):
    settings.TIME_ZONE = "America/New_York"
    kind = make_kind(duration_minutes=60, interval_minutes=60, minimum_notice_minutes=24 * 60)
    make_clinician(kinds=[kind], hours=[(MONDAY, "09:00", "12:00"), (TUESDAY, "09:00", "12:00")])

    # Monday 9 March 2026, 10:00 New York (EDT) = 14:00 UTC.
    slots = open_slots(kind=kind, now=utc("2026-03-09 14:00"), first_day=datetime.date(2026, 3, 9), days=2)

    assert starts(slots) == [utc("2026-03-10 14:00"), utc("2026-03-10 15:00")]


def test_notice_that_falls_between_steps_starts_at_the_next_step(settings):
    settings.TIME_ZONE = "America/New_York"
    kind = make_kind(duration_minutes=30, interval_minutes=30, minimum_notice_minutes=60)
    make_clinician(kinds=[kind], hours=[(MONDAY, "09:00", "11:00")])

    slots = open_slots(kind=kind, now=utc("2026-03-09 13:10"), days=1)

    # Earliest 10:10 EDT: the next step of the 09:00 grid is 10:30.
    assert starts(slots) == [utc("2026-03-09 14:30")]


def test_horizon_keeps_times_too_far_ahead_out(settings):
    settings.TIME_ZONE = "America/New_York"
    kind = make_kind(duration_minutes=60, interval_minutes=60, horizon_days=2)
    make_clinician(kinds=[kind], hours=[(weekday, "09:00", "10:00") for weekday in range(7)])

    slots = open_slots(kind=kind, now=utc("2026-06-01 12:00"))

    # Now is 08:00 EDT on 1 June; 09:00 EDT is 13:00 UTC; 3 June 13:00 is past the horizon (3 June 12:00).
    assert starts(slots) == [utc("2026-06-01 13:00"), utc("2026-06-02 13:00")]


def test_booked_appointments_and_buffers_take_times(settings):
    settings.TIME_ZONE = "America/New_York"
    booked_kind = make_kind(duration_minutes=45, buffer_after_minutes=15)
    kind = make_kind(duration_minutes=45, interval_minutes=15, buffer_before_minutes=15)
    clinician = make_clinician(kinds=[kind, booked_kind], hours=[(MONDAY, "09:00", "12:00")])
    # 10:00-10:45 EDT, its buffer to 11:00: the clinician is busy 14:00-15:00 UTC.
    book(clinician, booked_kind, utc("2026-06-01 14:00"))
    book(clinician, booked_kind, utc("2026-06-01 09:00"), status=Appointment.Status.CANCELLED)

    slots = open_slots(kind=kind, now=utc("2026-05-01 12:00"), first_day=datetime.date(2026, 6, 1), days=1)

    assert starts(slots) == [
        utc("2026-06-01 13:00"),  # 09:00, its buffer from 08:45
        utc("2026-06-01 13:15"),  # 09:15-10:00: ends as the booked one begins
        # 11:00 is refused: its buffer (10:45-11:00) overlaps the booked one's.
        utc("2026-06-01 15:15"),  # 11:15-12:00
    ]


def test_time_off_and_extra_hours(settings):
    settings.TIME_ZONE = "America/New_York"
    kind = make_kind(duration_minutes=60, interval_minutes=60)
    clinician = make_clinician(kinds=[kind], hours=[(MONDAY, "09:00", "12:00")])
    AvailabilityException.objects.create(clinician=clinician, date=datetime.date(2026, 6, 1))
    AvailabilityException.objects.create(
        clinician=clinician,
        date=datetime.date(2026, 6, 8),
        starts=datetime.time(10, 30),
        ends=datetime.time(11, 0),
    )
    AvailabilityException.objects.create(
        clinician=clinician,
        date=datetime.date(2026, 6, 6),
        kind=AvailabilityException.Kind.EXTRA,
        starts=datetime.time(14, 0),
        ends=datetime.time(16, 0),
    )

    slots = open_slots(kind=kind, now=utc("2026-05-01 12:00"), first_day=datetime.date(2026, 6, 1), days=8)

    assert starts(slots) == [
        # Monday 1 June: the whole day off.
        utc("2026-06-06 18:00"),  # Saturday 6 June, extra hours 14:00-16:00
        utc("2026-06-06 19:00"),
        utc("2026-06-08 13:00"),  # Monday 8 June 09:00; 10:00 crosses the 10:30-11:00 time off
        utc("2026-06-08 15:00"),  # 11:00, as the time off ends
    ]


def test_only_clinicians_licensed_in_the_state_and_doing_the_kind_are_offered(settings):
    settings.TIME_ZONE = "America/New_York"
    kind = make_kind(duration_minutes=60, interval_minutes=60)
    other_kind = make_kind(duration_minutes=60, interval_minutes=60)
    new_york = make_clinician(kinds=[kind], states=["NY"], hours=[(MONDAY, "09:00", "10:00")])
    new_jersey = make_clinician(kinds=[kind], states=["NJ", "CT"], hours=[(MONDAY, "11:00", "12:00")])
    make_clinician(kinds=[other_kind], states=["NJ"], hours=[(MONDAY, "13:00", "14:00")])
    make_clinician(kinds=[kind], states=["NJ"], hours=[(MONDAY, "15:00", "16:00")], is_active=False)
    now = utc("2026-05-01 12:00")
    day = datetime.date(2026, 6, 1)

    nj = open_slots(kind=kind, now=now, state="NJ", first_day=day, days=1)
    ny = open_slots(kind=kind, now=now, state="NY", first_day=day, days=1)
    texas = open_slots(kind=kind, now=now, state="TX", first_day=day, days=1)

    assert [(slot.starts_at, slot.clinician_id) for slot in nj] == [(utc("2026-06-01 15:00"), new_jersey.pk)]
    assert [(slot.starts_at, slot.clinician_id) for slot in ny] == [(utc("2026-06-01 13:00"), new_york.pk)]
    assert texas == []


def test_slot_is_open_checks_one_time(settings):
    settings.TIME_ZONE = "America/New_York"
    kind = make_kind(duration_minutes=60, interval_minutes=60)
    clinician = make_clinician(kinds=[kind], hours=[(MONDAY, "09:00", "11:00")])
    now = utc("2026-05-01 12:00")

    assert slot_is_open(kind=kind, clinician=clinician, starts_at=utc("2026-06-01 13:00"), now=now)
    assert not slot_is_open(kind=kind, clinician=clinician, starts_at=utc("2026-06-01 13:30"), now=now)
    assert not slot_is_open(kind=kind, clinician=clinician, starts_at=utc("2026-06-01 15:00"), now=now)
    appointment = book(clinician, kind, utc("2026-06-01 13:00"))
    assert not slot_is_open(kind=kind, clinician=clinician, starts_at=utc("2026-06-01 13:00"), now=now)
    assert slot_is_open(
        kind=kind,
        clinician=clinician,
        starts_at=utc("2026-06-01 13:00"),
        now=now,
        ignore_appointment=appointment,
    )


def test_appointments_outside_hours_lists_bookings_that_time_off_now_covers(settings):
    settings.TIME_ZONE = "America/New_York"
    kind = make_kind(duration_minutes=60, interval_minutes=60)
    clinician = make_clinician(kinds=[kind], hours=[(MONDAY, "09:00", "12:00")])
    kept = book(clinician, kind, utc("2026-06-01 13:00"))
    covered = book(clinician, kind, utc("2026-06-08 14:00"))
    now = utc("2026-05-01 12:00")
    assert appointments_outside_hours(clinician=clinician, now=now) == []

    AvailabilityException.objects.create(clinician=clinician, date=datetime.date(2026, 6, 8))
    assert appointments_outside_hours(clinician=clinician, now=now) == [covered]

    clinician.weekly_hours.update(starts=datetime.time(9, 30))
    assert appointments_outside_hours(clinician=clinician, now=now) == [kept, covered]


def test_open_times_take_four_queries_however_many_clinicians_bookings_and_days(
    settings, django_assert_num_queries
):
    settings.TIME_ZONE = "America/New_York"
    kind = make_kind(duration_minutes=60, interval_minutes=60)
    clinicians = [make_clinician(kinds=[kind], hours=[(MONDAY, "09:00", "17:00")]) for _ in range(6)]
    for clinician in clinicians:
        book(clinician, kind, utc("2026-06-01 14:00"))
    AvailabilityException.objects.create(clinician=clinicians[0], date=datetime.date(2026, 6, 8))

    # The clinicians, their hours, their exceptions and their booked appointments.
    with django_assert_num_queries(4):
        slots = open_slots(
            kind=kind, now=utc("2026-05-01 12:00"), first_day=datetime.date(2026, 6, 1), days=14
        )

    # 6 clinicians x 8 hours on 1 June less the 6 booked; 5 x 8 on 8 June (one is off).
    assert len(slots) == 6 * 7 + 5 * 8
    assert utc("2026-06-01 14:00") not in [slot.starts_at for slot in slots]


def test_open_times_by_day_offers_each_instant_once_whoever_is_free(settings):
    settings.TIME_ZONE = "America/New_York"
    kind = make_kind(duration_minutes=60, interval_minutes=60)
    make_clinician(kinds=[kind], hours=[(MONDAY, "09:00", "11:00")])
    make_clinician(kinds=[kind], hours=[(MONDAY, "10:00", "12:00")])

    slots = open_slots(kind=kind, now=utc("2026-05-01 12:00"), first_day=datetime.date(2026, 6, 1), days=1)

    assert open_times_by_day(slots) == [
        (
            datetime.date(2026, 6, 1),
            [utc("2026-06-01 13:00"), utc("2026-06-01 14:00"), utc("2026-06-01 15:00")],
        )
    ]


def test_starts_resume_on_the_next_step_after_a_time_typed_in_by_hand_and_skip_time_off(settings):
    settings.TIME_ZONE = "America/New_York"
    kind = make_kind(
        duration_minutes=30, interval_minutes=15, buffer_before_minutes=10, buffer_after_minutes=15
    )
    clinician = make_clinician(kinds=[kind], hours=[(MONDAY, "09:00", "12:00")])
    # 10:10-10:40 EDT, off the 15-minute grid, no buffers of its own.
    Appointment.objects.create(
        consultation_request=make_request(),
        clinician=clinician,
        starts_at=utc("2026-06-01 14:10"),
        duration_minutes=30,
        modality=Appointment.Modality.TELEHEALTH,
        telehealth_instructions="Join by the link in your e-mail.",
    )
    AvailabilityException.objects.create(
        clinician=clinician,
        date=datetime.date(2026, 6, 1),
        starts=datetime.time(11, 30),
        ends=datetime.time(11, 45),
    )

    slots = open_slots(kind=kind, now=utc("2026-05-01 12:00"), first_day=datetime.date(2026, 6, 1), days=1)

    assert starts(slots) == [
        utc("2026-06-01 13:00"),  # 09:00, its 15 minutes after end at 09:45
        utc("2026-06-01 13:15"),  # 09:15: buffer ends at 10:00, before 10:10
        # 09:30 to 10:45 would reach the booked 10:10-10:40 with the buffers (10 before, 15 after).
        utc("2026-06-01 15:00"),  # 11:00-11:30, up to the time off
        # 11:15 and 11:30 would run into the time off, 11:30-11:45.
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # (first day, last day, earlier, later) of the page, for a window of Dec 1 to Dec 20.
        (None, ("12-01", "12-07", None, "12-08")),
        ("not a date", ("12-01", "12-07", None, "12-08")),
        ("2026-11-20", ("12-01", "12-07", None, "12-08")),  # Before the window: its first day.
        ("2026-12-04", ("12-04", "12-10", "12-01", "12-11")),  # Earlier stops at the first day.
        ("2026-12-08", ("12-08", "12-14", "12-01", "12-15")),
        ("2026-12-15", ("12-15", "12-21", "12-08", None)),  # Nothing later than Dec 20.
        ("2027-01-10", ("12-20", "12-26", "12-13", None)),  # After the window: its last day.
    ],
)
def test_a_page_of_days_keeps_within_the_booking_window(value, expected):
    window = (
        datetime.datetime(2026, 12, 1, 9, tzinfo=datetime.UTC) + datetime.timedelta(hours=6),
        datetime.datetime(2026, 12, 20, 18, tzinfo=datetime.UTC),
    )
    page = days_page(value, window)
    assert len(range((page.last_day - page.first_day).days + 1)) == DAYS_SHOWN
    shown = tuple(day and day.strftime("%m-%d") for day in page)
    assert shown == expected


# What patients and staff see of open times as bookings and hours change: computed from the
# database on each request, so every change shows on the next page.

NEW_YORK = ZoneInfo("America/New_York")
# Monday 1 June 2026 in New York (EDT, UTC-4); "now" is the Friday before.
JUNE_1 = datetime.date(2026, 6, 1)
NOW = datetime.datetime(2026, 5, 29, 12, 0, tzinfo=UTC)


def at(hour, minute=0, day=JUNE_1):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=NEW_YORK).astimezone(UTC)


def shown(kind, *, now=NOW, state="NY"):
    """The start times a patient in ``state`` is shown on 1 June."""
    return starts(open_slots(kind=kind, now=now, state=state, first_day=JUNE_1, days=1))


@pytest.fixture
def hourly(settings):
    settings.TIME_ZONE = "America/New_York"
    return make_kind(duration_minutes=60, interval_minutes=60)


@pytest.fixture
def reyes(hourly):
    return make_clinician(
        kinds=[hourly], states=["NY"], hours=[(MONDAY, "09:00", "12:00")], display_name="Dr. Reyes"
    )


def book_by_phone(clinician, kind, starts_at):
    return appointment_book(
        consultation_request=make_request(state="NY"),
        clinician=clinician,
        kind=kind,
        starts_at=starts_at,
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
        now=NOW,
    )


def test_a_booked_time_disappears_from_the_open_times_at_once(hourly, reyes):
    assert shown(hourly) == [at(9), at(10), at(11)]

    book_by_phone(reyes, hourly, at(10))

    assert shown(hourly) == [at(9), at(11)]


def test_a_cancelled_time_is_offered_again_and_a_moved_one_swaps(hourly, reyes, login_as):
    booked = book_by_phone(reyes, hourly, at(10))
    assert shown(hourly) == [at(9), at(11)]

    appointment_move(source=Source.PATIENT, appointment=booked, starts_at=at(11), now=NOW)
    assert shown(hourly) == [at(9), at(10)]

    booked.refresh_from_db()
    appointment_cancel(appointment=booked, source=Source.STAFF, by=login_as("front_desk"))
    assert shown(hourly) == [at(9), at(10), at(11)]


def test_hours_time_off_and_licences_saved_in_the_admin_show_at_once(client, login_as, hourly, reyes):
    login_as("clinic_admin")
    assert shown(hourly) == [at(9), at(10), at(11)]

    data = hours_form(reyes)
    data["weekly_hours-0-ends"] = "11:00"
    response = client.post(f"/admin/appointments/clinician/{reyes.pk}/change/", data)
    assert response.status_code == 302
    assert shown(hourly) == [at(9), at(10)]

    reyes.refresh_from_db()
    response = client.post(
        f"/admin/appointments/clinician/{reyes.pk}/change/",
        hours_form(reyes, exceptions=[(JUNE_1, "time_off", "09:00", "10:00")]),
    )
    assert response.status_code == 302
    assert shown(hourly) == [at(10)]

    data = hours_form(reyes)
    data["licensed_states"] = ["NJ"]
    response = client.post(f"/admin/appointments/clinician/{reyes.pk}/change/", data)
    assert response.status_code == 302
    assert shown(hourly, state="NY") == []
    assert shown(hourly, state="NJ") == [at(10)]


def test_a_time_is_offered_until_the_minimum_notice_passes_it(hourly, reyes):
    assert shown(hourly) == [at(9), at(10), at(11)]
    assert shown(hourly, now=at(9, 30)) == [at(10), at(11)]
    assert shown(hourly, now=at(10)) == [at(10), at(11)]
    assert shown(hourly, now=at(11, 1)) == []


def test_with_redis_down_open_times_are_still_offered_and_bookings_taken_from_them(settings, hourly, reyes):
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
        assert shown(hourly) == [at(9), at(10), at(11)]
        # Nothing kept that a change could leave stale.
        assert server.client().dbsize() == 0

        server.kill()
        book_by_phone(reyes, hourly, at(10))
        assert shown(hourly) == [at(9), at(11)]
    finally:
        server.kill()


def test_labels_computed_per_day_are_each_times_own_label_in_english_and_spanish(settings):
    settings.TIME_ZONE = "America/New_York"
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
