"""Clinicians, kinds and hours in the staff workspace; the calendar; each clinician's calendar feed."""

import datetime

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from icalendar import Calendar

from appointments.models import Appointment, AvailabilityException, Clinician, WeeklyHours
from appointments.services import Source, appointment_book
from tests.factories import log_in_verified, make_clinician, make_kind, make_request, make_staff

pytestmark = pytest.mark.django_db

MAX_QUERIES = 14
# It reads hours, time off and booked times in one query each.
CALENDAR_MAX_QUERIES = 17
CLINICIANS_URL = "/admin/appointments/clinician/"
KINDS_URL = "/admin/appointments/consultationkind/"
CALENDAR_URL = "/admin/appointments/clinician/calendar/"


@pytest.fixture(autouse=True)
def _clinic_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"


def next_monday():
    today = timezone.localdate()
    return today + datetime.timedelta(days=7 - today.weekday())


def at(day, hour, minute=0):
    """A local wall time in the clinic's zone as an aware datetime."""
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=timezone.get_default_timezone())


def queries_for(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


def booked(clinician, kind, starts_at, **request_fields):
    return appointment_book(
        consultation_request=make_request(state="NY", **request_fields),
        clinician=clinician,
        kind=kind,
        starts_at=starts_at,
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
    )


def hours_form(clinician, *, hours=(), exceptions=(), **fields):
    """What a browser posts from a clinician's admin page: the profile, the hours, the exceptions."""
    data = {
        "user": clinician.user_id,
        "display_name": clinician.display_name,
        "credentials": clinician.credentials,
        "kinds": [kind.pk for kind in clinician.kinds.all()],
        "licensed_states": clinician.licensed_states,
        "telehealth_instructions": clinician.telehealth_instructions,
        "is_active": "on",
        "exceptions-TOTAL_FORMS": len(exceptions),
        "exceptions-INITIAL_FORMS": 0,
    }
    existing = list(clinician.weekly_hours.all())
    data["weekly_hours-TOTAL_FORMS"] = len(existing) + len(hours)
    data["weekly_hours-INITIAL_FORMS"] = len(existing)
    for index, row in enumerate(existing):
        data.update(
            {
                f"weekly_hours-{index}-id": row.pk,
                f"weekly_hours-{index}-clinician": clinician.pk,
                f"weekly_hours-{index}-weekday": row.weekday,
                f"weekly_hours-{index}-starts": row.starts.strftime("%H:%M"),
                f"weekly_hours-{index}-ends": row.ends.strftime("%H:%M"),
            }
        )
    for offset, (weekday, starts, ends) in enumerate(hours):
        index = len(existing) + offset
        data.update(
            {
                f"weekly_hours-{index}-weekday": weekday,
                f"weekly_hours-{index}-starts": starts,
                f"weekly_hours-{index}-ends": ends,
            }
        )
    for index, (day, kind, starts, ends) in enumerate(exceptions):
        data.update(
            {
                f"exceptions-{index}-date": day.isoformat(),
                f"exceptions-{index}-kind": kind,
                f"exceptions-{index}-starts": starts,
                f"exceptions-{index}-ends": ends,
            }
        )
    data.update(fields)
    return data


# --- Lists ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["front_desk", "clinician", "clinic_admin"])
def test_clinician_list_makes_as_many_queries_for_twenty_clinicians_as_for_one(
    client, login_as, django_assert_max_num_queries, role
):
    login_as(role)
    kinds = [make_kind(name="First consultation"), make_kind(name="Phone call")]
    make_clinician(kinds=kinds, states=["NY", "NJ"], display_name="Dr. Ana Reyes")
    client.get(CLINICIANS_URL)
    with django_assert_max_num_queries(MAX_QUERIES):
        one = queries_for(client, CLINICIANS_URL)
    for _ in range(19):
        make_clinician(kinds=kinds, states=["NY"])
    with django_assert_max_num_queries(MAX_QUERIES):
        many = queries_for(client, CLINICIANS_URL)
    assert one == many
    html = client.get(CLINICIANS_URL).content.decode()
    assert "Dr. Ana Reyes" in html
    assert "First consultation, Phone call" in html
    assert "NY, NJ" in html


def test_kind_list_makes_as_many_queries_for_twenty_kinds_as_for_one(
    client, login_as, django_assert_max_num_queries
):
    login_as("clinic_admin")
    make_kind(name="First consultation", minimum_notice_minutes=24 * 60)
    client.get(KINDS_URL)
    with django_assert_max_num_queries(MAX_QUERIES):
        one = queries_for(client, KINDS_URL)
    for _ in range(19):
        make_kind()
    with django_assert_max_num_queries(MAX_QUERIES):
        many = queries_for(client, KINDS_URL)
    assert one == many
    assert "24 h" in client.get(KINDS_URL).content.decode()


# --- Who edits what ------------------------------------------------------------------------------


def test_a_clinic_admin_changes_a_clinicians_profile_and_hours(client, login_as):
    login_as("clinic_admin")
    kind = make_kind()
    clinician = make_clinician(kinds=[kind], hours=[(0, "09:00", "12:00")])

    response = client.post(
        f"{CLINICIANS_URL}{clinician.pk}/change/",
        hours_form(
            clinician,
            hours=[(2, "13:00", "17:00")],
            display_name="Dr. Ana Reyes",
            licensed_states=["NY", "CT"],
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    clinician.refresh_from_db()
    assert clinician.display_name == "Dr. Ana Reyes"
    assert sorted(clinician.licensed_states) == ["CT", "NY"]
    assert sorted(clinician.weekly_hours.values_list("weekday", "starts", "ends")) == [
        (0, datetime.time(9), datetime.time(12)),
        (2, datetime.time(13), datetime.time(17)),
    ]


def test_weekly_hours_that_end_before_they_start_are_refused_next_to_the_row(client, login_as):
    login_as("clinic_admin")
    clinician = make_clinician()

    response = client.post(
        f"{CLINICIANS_URL}{clinician.pk}/change/", hours_form(clinician, hours=[(0, "12:00", "09:00")])
    )

    assert response.status_code == 200
    assert "The end must be after the start." in response.content.decode()
    assert not WeeklyHours.objects.exists()


def test_a_clinician_edits_their_own_hours_and_time_off_but_not_their_profile(client):
    user = make_staff("clinician", username="dr-reyes")
    log_in_verified(client, user)
    clinician = Clinician.objects.create(user=user, display_name="Dr. Ana Reyes", licensed_states=["NY"])
    day_off = next_monday()

    page = client.get(f"{CLINICIANS_URL}{clinician.pk}/change/")
    assert page.status_code == 200
    assert 'name="display_name"' not in page.content.decode()
    response = client.post(
        f"{CLINICIANS_URL}{clinician.pk}/change/",
        hours_form(
            clinician,
            hours=[(0, "09:00", "17:00")],
            exceptions=[(day_off, "time_off", "", "")],
            display_name="Somebody else",
        ),
    )

    assert response.status_code == 302
    clinician.refresh_from_db()
    assert clinician.display_name == "Dr. Ana Reyes"
    assert list(clinician.weekly_hours.values_list("weekday", "starts", "ends")) == [
        (0, datetime.time(9), datetime.time(17))
    ]
    assert list(clinician.exceptions.values_list("date", "kind", "starts")) == [(day_off, "time_off", None)]


def test_a_clinician_cannot_change_a_colleagues_hours(client):
    colleague = make_clinician(hours=[(0, "09:00", "12:00")])
    user = make_staff("clinician", username="dr-reyes")
    Clinician.objects.create(user=user, display_name="Dr. Ana Reyes")
    log_in_verified(client, user)

    response = client.post(
        f"{CLINICIANS_URL}{colleague.pk}/change/", hours_form(colleague, hours=[(3, "09:00", "12:00")])
    )

    assert response.status_code == 403
    assert colleague.weekly_hours.count() == 1


def test_the_front_desk_reads_clinicians_but_cannot_change_them_or_kinds(client, login_as):
    login_as("front_desk")
    clinician = make_clinician(hours=[(0, "09:00", "12:00")])
    assert client.get(f"{CLINICIANS_URL}{clinician.pk}/change/").status_code == 200
    response = client.post(
        f"{CLINICIANS_URL}{clinician.pk}/change/", hours_form(clinician, hours=[(3, "09:00", "12:00")])
    )
    assert response.status_code == 403
    assert client.get(f"{KINDS_URL}add/").status_code == 403
    assert client.get(f"{CLINICIANS_URL}add/").status_code == 403


# --- Conflicts -----------------------------------------------------------------------------------


def test_time_off_over_booked_appointments_lists_them_after_saving_and_on_the_page(client, login_as):
    login_as("clinic_admin")
    kind = make_kind(duration_minutes=60, interval_minutes=60)
    clinician = make_clinician(kinds=[kind], states=["NY"], hours=[(0, "09:00", "12:00")])
    monday = next_monday()
    appointment = booked(clinician, kind, at(monday, 10))
    reference = appointment.consultation_request.reference

    response = client.post(
        f"{CLINICIANS_URL}{clinician.pk}/change/",
        hours_form(clinician, exceptions=[(monday, "time_off", "", "")]),
        follow=True,
    )

    html = response.content.decode()
    assert "1 booked appointment is now outside" in html
    assert f"{reference} {monday:%a %d %b} 10:00" in html
    page = client.get(f"{CLINICIANS_URL}{clinician.pk}/change/").content.decode()
    assert "1 booked appointment is outside this clinician's working time" in page
    assert f"/admin/appointments/consultationrequest/{appointment.consultation_request_id}/change/" in page
    assert AvailabilityException.objects.filter(clinician=clinician, date=monday).exists()


# --- Calendar ------------------------------------------------------------------------------------


def test_the_calendar_shows_bookings_by_reference_and_name_and_the_free_time(
    client, login_as, django_assert_max_num_queries
):
    login_as("front_desk")
    kind = make_kind(name="First consultation", duration_minutes=60, interval_minutes=60)
    reyes = make_clinician(kinds=[kind], display_name="Dr. Ana Reyes", hours=[(0, "09:00", "12:00")])
    make_clinician(kinds=[kind], display_name="Dr. Ben Osei", hours=[(0, "13:00", "15:00")])
    monday = next_monday()
    appointment = booked(
        reyes,
        kind,
        at(monday, 10),
        first_name="Maria",
        last_name="Okonkwo",
        current_medications="Lithium-marker",
    )
    url = f"{CALENDAR_URL}?view=week&date={monday.isoformat()}"
    client.get(url)

    with django_assert_max_num_queries(CALENDAR_MAX_QUERIES):
        response = client.get(url)

    html = response.content.decode()
    assert response.status_code == 200
    assert appointment.consultation_request.reference in html
    assert "Maria Okonkwo" in html
    assert "Lithium-marker" not in html
    assert "Dr. Ana Reyes" in html and "Dr. Ben Osei" in html
    # Reyes: free 09:00-10:00 and 11:00-12:00 around the booking; Osei free 13:00-15:00.
    for free in ["09:00</time>–<time", "11:00</time>–<time"]:
        assert free in html
    assert html.count('class="calendar-free"') == 3
    assert "Times are New York time." in html


def test_the_calendar_makes_as_many_queries_for_ten_clinicians_as_for_one(
    client, login_as, django_assert_max_num_queries
):
    login_as("front_desk")
    kind = make_kind(duration_minutes=60, interval_minutes=60)
    monday = next_monday()
    first = make_clinician(kinds=[kind], hours=[(day, "09:00", "17:00") for day in range(5)])
    booked(first, kind, at(monday, 9))
    url = f"{CALENDAR_URL}?view=week&date={monday.isoformat()}"
    client.get(url)
    one = queries_for(client, url)
    for _ in range(9):
        clinician = make_clinician(kinds=[kind], hours=[(day, "09:00", "17:00") for day in range(5)])
        booked(clinician, kind, at(monday, 11))
    with django_assert_max_num_queries(CALENDAR_MAX_QUERIES):
        many = queries_for(client, url)
    assert one == many


def test_one_clinicians_day(client, login_as):
    login_as("clinician")
    kind = make_kind(duration_minutes=60, interval_minutes=60)
    reyes = make_clinician(kinds=[kind], display_name="Dr. Ana Reyes", hours=[(0, "09:00", "12:00")])
    make_clinician(kinds=[kind], display_name="Dr. Ben Osei", hours=[(0, "13:00", "15:00")])
    monday = next_monday()

    html = client.get(
        f"{CALENDAR_URL}?view=day&date={monday.isoformat()}&clinician={reyes.pk}"
    ).content.decode()

    assert "Calendar: Dr. Ana Reyes" in html
    assert html.count('class="calendar-free"') == 1
    assert "13:00</time>" not in html


def test_staff_who_may_not_see_names_see_references_only(client):
    user = make_staff("front_desk", username="scheduler")
    group = Group.objects.create(name="Calendar only")
    group.permissions.set(
        [
            Permission.objects.get(codename="view_appointment"),
            Permission.objects.get(codename="view_clinician"),
        ]
    )
    user.groups.set([group])
    log_in_verified(client, user)
    kind = make_kind(duration_minutes=60, interval_minutes=60)
    reyes = make_clinician(kinds=[kind], hours=[(0, "09:00", "12:00")])
    monday = next_monday()
    appointment = booked(reyes, kind, at(monday, 10), first_name="Maria", last_name="Okonkwo")

    html = client.get(f"{CALENDAR_URL}?view=day&date={monday.isoformat()}").content.decode()

    assert appointment.consultation_request.reference in html
    assert "Okonkwo" not in html
    assert "/admin/appointments/consultationrequest/" not in html


@pytest.mark.parametrize(
    "query",
    [
        "?date=not-a-date",
        "?view=month",
        "?clinician=abc",
        "?date=9999-12-31",
        "?date=0001-01-01&view=day",
        "?clinician=999999",
    ],
)
def test_the_calendar_shrugs_off_bad_parameters(client, login_as, query):
    login_as("front_desk")
    make_clinician(hours=[(0, "09:00", "12:00")])
    assert client.get(CALENDAR_URL + query).status_code == 200


def test_the_calendar_is_for_signed_in_staff_only(client):
    response = client.get(CALENDAR_URL)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


# --- ICS feed ------------------------------------------------------------------------------------


def test_the_feed_lists_booked_consultations_by_reference_without_names(client):
    kind = make_kind(name="First consultation", duration_minutes=45, interval_minutes=60)
    clinician = make_clinician(kinds=[kind], hours=[(0, "09:00", "12:00")])
    monday = next_monday()
    kept = booked(
        clinician, kind, at(monday, 10), first_name="Maria", last_name="Okonkwo", email="maria@example.com"
    )
    cancelled = booked(clinician, kind, at(monday, 11))
    Appointment.objects.filter(pk=cancelled.pk).update(status=Appointment.Status.CANCELLED)

    response = client.get(f"/calendar/{clinician.calendar_feed_token}.ics")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    (event,) = Calendar.from_ical(body).walk("VEVENT")
    assert str(event["SUMMARY"]) == f"Consultation {kept.consultation_request.reference}"
    assert event.decoded("DTSTART") == at(monday, 10).astimezone(datetime.UTC)
    assert event.decoded("DTEND") == at(monday, 10, 45).astimezone(datetime.UTC)
    for private in ["Maria", "Okonkwo", "maria@example.com", "Lamotrigine"]:
        assert private not in body


def test_a_wrong_or_renewed_feed_address_finds_nothing(client, login_as):
    clinician = make_clinician()
    old = clinician.calendar_feed_token
    assert client.get("/calendar/not-the-secret.ics").status_code == 404

    login_as("clinic_admin")
    response = client.post(
        CLINICIANS_URL, {"action": "renew_calendar_feeds", "_selected_action": [clinician.pk]}, follow=True
    )

    assert "1 calendar feed address renewed." in response.content.decode()
    clinician.refresh_from_db()
    assert clinician.calendar_feed_token != old
    assert client.get(f"/calendar/{old}.ics").status_code == 404
    assert client.get(f"/calendar/{clinician.calendar_feed_token}.ics").status_code == 200


def test_a_clinician_sees_their_own_feed_address_and_not_a_colleagues(client, settings):
    settings.CLINIC_SITE_URL = "https://clinic.example"
    user = make_staff("clinician", username="dr-reyes")
    own = Clinician.objects.create(user=user, display_name="Dr. Ana Reyes")
    colleague = make_clinician()
    log_in_verified(client, user)

    assert (
        f"https://clinic.example/calendar/{own.calendar_feed_token}.ics"
        in client.get(f"{CLINICIANS_URL}{own.pk}/change/").content.decode()
    )
    assert (
        colleague.calendar_feed_token
        not in client.get(f"{CLINICIANS_URL}{colleague.pk}/change/").content.decode()
    )


def test_appointments_typed_in_without_a_clinician_have_a_column_of_their_own(client, login_as):
    user = login_as("front_desk")
    make_clinician(display_name="Dr. Ana Reyes", hours=[(0, "09:00", "12:00")])
    monday = next_monday()
    typed = appointment_book(
        consultation_request=make_request(first_name="James", last_name="Haddad"),
        starts_at=at(monday, 15),
        duration_minutes=30,
        modality=Appointment.Modality.IN_PERSON,
        location="100 Main Street",
        source=Source.STAFF,
        by=user,
    )

    html = client.get(f"{CALENDAR_URL}?view=day&date={monday.isoformat()}").content.decode()

    assert "No clinician given" in html
    assert typed.consultation_request.reference in html
    assert "James Haddad" in html
    assert "15:00</time>–<time" in html
