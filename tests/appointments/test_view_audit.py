"""Every page that shows requests is audited as a list: who, which view, how many rows, which requests.

The calendar's week and day, the dashboard's lists, the list of appointments outside working time,
a clinician's own outside-hours list (on their page and after saving it), the request list, and
each clinician's ICS feed; each with as many queries for many rows as for one.
"""

import datetime

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appointments.models import AuditEvent, AvailabilityException, ConsultationRequest
from tests.factories import make_clinician, make_kind, make_request

from .conftest import LIST_URL
from .test_booking_admin import at, booked, hours_form, next_monday

pytestmark = pytest.mark.django_db

CLINICIANS_URL = "/admin/appointments/clinician/"
CALENDAR_URL = "/admin/appointments/clinician/calendar/"
CONFLICTS_URL = "/admin/appointments/clinician/conflicts/"
# The most queries each page may make, its audit record's insert included, whatever the rows.
# The calendar, the conflicts list; the calendar reads hours, time off and booked times in one query each.
PAGE_MAX_QUERIES = 17
INDEX_MAX_QUERIES = 15
CLINICIAN_PAGE_MAX_QUERIES = 18
FEED_MAX_QUERIES = 4


@pytest.fixture(autouse=True)
def _clinic_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"


@pytest.fixture
def kind(db):
    return make_kind(name="First consultation", duration_minutes=60, interval_minutes=60)


@pytest.fixture
def reyes(kind):
    return make_clinician(kinds=[kind], display_name="Dr. Ana Reyes", hours=[(0, "08:00", "18:00")])


def the_list_event(user):
    """The one list event ``user`` caused: (description, primary keys of the requests shown)."""
    event = AuditEvent.objects.get(action=AuditEvent.Action.LIST, actor=user)
    return event.description, set(event.requests_shown.values_list("pk", flat=True))


def queries_for(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


def book_monday(clinician, kind, hours):
    """Booked appointments on next Monday at these hours; returns their requests' primary keys."""
    monday = next_monday()
    return {booked(clinician, kind, at(monday, hour)).consultation_request_id for hour in hours}


def time_off_on_monday(clinician):
    AvailabilityException.objects.create(clinician=clinician, date=next_monday())


def book_more_outside_hours(clinician, kind, hours):
    """More booked appointments under Monday's time off (booked first, as before the time off)."""
    clinician.exceptions.all().delete()
    book_monday(clinician, kind, hours)
    time_off_on_monday(clinician)


# --- The calendar ----------------------------------------------------------------------------------


def test_the_calendar_week_records_who_the_view_how_many_and_which_requests(client, login_as, kind, reyes):
    user = login_as("front_desk")
    shown = book_monday(reyes, kind, [9, 11])
    monday = next_monday()
    # Not in the week shown: not recorded.
    booked(reyes, kind, at(monday + datetime.timedelta(days=7), 9))

    response = client.get(CALENDAR_URL, {"view": "week", "date": monday.isoformat()})

    assert response.status_code == 200
    assert the_list_event(user) == (
        f"Calendar week, references and names: 2 requests; filters: from={monday.isoformat()}",
        shown,
    )


def test_the_calendar_day_of_one_clinician_records_the_filters(client, login_as, kind, reyes):
    user = login_as("clinician")
    osei = make_clinician(kinds=[kind], display_name="Dr. Ben Osei", hours=[(0, "08:00", "18:00")])
    shown = book_monday(reyes, kind, [10])
    book_monday(osei, kind, [10])
    monday = next_monday()

    client.get(CALENDAR_URL, {"view": "day", "date": monday.isoformat(), "clinician": reyes.pk})

    assert the_list_event(user) == (
        f"Calendar day, references and names: 1 request; filters: clinician={reyes.pk}; "
        f"from={monday.isoformat()}",
        shown,
    )


def test_a_calendar_without_names_says_so(client, login_as, kind, reyes):
    from django.contrib.auth.models import Permission

    user = login_as("front_desk")
    user.groups.clear()
    user.user_permissions.add(Permission.objects.get(codename="view_appointment"))
    shown = book_monday(reyes, kind, [9])
    monday = next_monday()

    html = client.get(CALENDAR_URL, {"view": "week", "date": monday.isoformat()}).content.decode()

    assert ConsultationRequest.objects.get(pk=next(iter(shown))).reference in html
    assert the_list_event(user) == (
        f"Calendar week, references: 1 request; filters: from={monday.isoformat()}",
        shown,
    )


def test_the_calendar_records_its_rows_in_as_many_queries_for_ten_as_for_one(
    client, login_as, kind, reyes, django_assert_max_num_queries
):
    login_as("front_desk")
    url = f"{CALENDAR_URL}?view=week&date={next_monday().isoformat()}"
    book_monday(reyes, kind, [8])
    client.get(url)
    with django_assert_max_num_queries(PAGE_MAX_QUERIES):
        one = queries_for(client, url)
    book_monday(reyes, kind, range(9, 18))
    with django_assert_max_num_queries(PAGE_MAX_QUERIES):
        many = queries_for(client, url)
    assert one == many
    assert AuditEvent.objects.latest("pk").requests_shown.count() == 10


# --- Appointments outside working time -------------------------------------------------------------


def test_the_conflicts_list_records_the_appointments_it_shows(client, login_as, kind, reyes):
    user = login_as("front_desk")
    shown = book_monday(reyes, kind, [9, 10])
    time_off_on_monday(reyes)

    response = client.get(CONFLICTS_URL)

    assert response.status_code == 200
    assert the_list_event(user) == ("Appointments outside working time: 2 requests", shown)


def test_the_conflicts_list_records_in_as_many_queries_for_ten_as_for_one(
    client, login_as, kind, reyes, django_assert_max_num_queries
):
    login_as("front_desk")
    book_monday(reyes, kind, [8])
    time_off_on_monday(reyes)
    client.get(CONFLICTS_URL)
    with django_assert_max_num_queries(PAGE_MAX_QUERIES):
        one = queries_for(client, CONFLICTS_URL)
    book_more_outside_hours(reyes, kind, range(9, 18))
    with django_assert_max_num_queries(PAGE_MAX_QUERIES):
        many = queries_for(client, CONFLICTS_URL)
    assert one == many
    assert AuditEvent.objects.latest("pk").requests_shown.count() == 10


def test_a_clinicians_page_records_its_outside_hours_list(client, login_as, kind, reyes):
    user = login_as("front_desk")
    shown = book_monday(reyes, kind, [9, 15])
    time_off_on_monday(reyes)

    response = client.get(f"{CLINICIANS_URL}{reyes.pk}/change/")

    assert "2 booked appointments are outside this clinician's working time" in response.content.decode()
    assert the_list_event(user) == ("Outside working time of Dr. Ana Reyes: 2 requests", shown)


def test_a_clinicians_page_with_nothing_outside_hours_lists_no_request(client, login_as, kind, reyes):
    login_as("front_desk")
    book_monday(reyes, kind, [9])
    client.get(f"{CLINICIANS_URL}{reyes.pk}/change/")
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LIST).exists()


def test_saving_hours_records_the_list_its_message_names(client, login_as, kind, reyes):
    user = login_as("clinic_admin")
    shown = book_monday(reyes, kind, [10])

    response = client.post(
        f"{CLINICIANS_URL}{reyes.pk}/change/",
        hours_form(reyes, exceptions=[(next_monday(), "time_off", "", "")]),
    )

    assert response.status_code == 302
    assert the_list_event(user) == ("Outside working time of Dr. Ana Reyes, after saving: 1 request", shown)


def test_a_clinicians_page_records_in_as_many_queries_for_ten_as_for_one(
    client, login_as, kind, reyes, django_assert_max_num_queries
):
    login_as("front_desk")
    url = f"{CLINICIANS_URL}{reyes.pk}/change/"
    book_monday(reyes, kind, [8])
    time_off_on_monday(reyes)
    client.get(url)
    with django_assert_max_num_queries(CLINICIAN_PAGE_MAX_QUERIES):
        one = queries_for(client, url)
    book_more_outside_hours(reyes, kind, range(9, 18))
    with django_assert_max_num_queries(CLINICIAN_PAGE_MAX_QUERIES):
        many = queries_for(client, url)
    assert one == many
    assert AuditEvent.objects.latest("pk").requests_shown.count() == 10


# --- The dashboard ---------------------------------------------------------------------------------


def test_the_dashboard_records_the_requests_its_lists_name(client, login_as, clinic_facts):
    from appointments.selectors import consultation_request_dashboard

    user = login_as("front_desk")
    now = timezone.now()
    oldest = make_request(created_at=now - datetime.timedelta(days=20), status="new")
    arrived = {make_request(created_at=now).pk, make_request(created_at=now, is_urgent=True).pk}
    assert consultation_request_dashboard().closed_at is not None  # the sample facts have hours

    html = client.get("/admin/").content.decode()

    assert "Arrived since the clinic closed" in html
    assert the_list_event(user) == ("Dashboard: 3 requests", {oldest.pk, *arrived})


def test_the_dashboard_records_in_as_many_queries_for_twenty_as_for_one(
    client, login_as, clinic_facts, django_assert_max_num_queries
):
    login_as("front_desk")
    make_request(created_at=timezone.now())
    client.get("/admin/")
    with django_assert_max_num_queries(INDEX_MAX_QUERIES):
        one = queries_for(client, "/admin/")
    for _ in range(19):
        make_request(created_at=timezone.now())
    with django_assert_max_num_queries(INDEX_MAX_QUERIES):
        many = queries_for(client, "/admin/")
    assert one == many
    assert AuditEvent.objects.latest("pk").requests_shown.count() == 20


def test_staff_who_see_no_requests_get_no_dashboard_and_no_record(client, login_as):
    from django.contrib.auth.models import Permission

    user = login_as("front_desk")
    user.groups.clear()
    user.user_permissions.add(Permission.objects.get(codename="view_searchmiss"))
    make_request()
    assert client.get("/admin/").status_code == 200
    assert not AuditEvent.objects.exists()


# --- The request list ------------------------------------------------------------------------------


def test_the_request_list_records_which_requests_it_showed(client, login_as):
    user = login_as("front_desk")
    first, second = make_request(), make_request()
    client.get(LIST_URL)
    assert the_list_event(user) == ("Request list: 2 requests", {first.pk, second.pk})


# --- The ICS feed ----------------------------------------------------------------------------------


def test_a_feed_fetch_records_the_clinician_and_the_consultations(client, kind, reyes):
    shown = book_monday(reyes, kind, [9, 10])
    colleague = make_clinician(kinds=[kind], hours=[(0, "08:00", "18:00")])
    book_monday(colleague, kind, [9])

    response = client.get(f"/calendar/{reyes.calendar_feed_token}.ics")

    assert response.status_code == 200
    assert the_list_event(reyes.user) == ("Calendar feed of Dr. Ana Reyes: 2 requests", shown)
    assert AuditEvent.objects.get(action=AuditEvent.Action.LIST).actor_label == reyes.user.username


def test_a_head_request_shows_no_consultation_and_records_none(client, kind, reyes):
    book_monday(reyes, kind, [9])
    assert client.head(f"/calendar/{reyes.calendar_feed_token}.ics").status_code == 200
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LIST).exists()


def test_a_feed_fetch_records_in_as_many_queries_for_ten_as_for_one(
    client, kind, reyes, django_assert_max_num_queries
):
    url = f"/calendar/{reyes.calendar_feed_token}.ics"
    book_monday(reyes, kind, [8])
    client.get(url)
    with django_assert_max_num_queries(FEED_MAX_QUERIES):
        one = queries_for(client, url)
    book_monday(reyes, kind, range(9, 18))
    with django_assert_max_num_queries(FEED_MAX_QUERIES):
        many = queries_for(client, url)
    assert one == many
    assert AuditEvent.objects.latest("pk").requests_shown.count() == 10


# --- The record itself -----------------------------------------------------------------------------


def test_nobody_changes_or_deletes_which_requests_a_list_showed(client, kind, reyes):
    (request_pk,) = book_monday(reyes, kind, [9])
    client.get(f"/calendar/{reyes.calendar_feed_token}.ics")
    other = make_request()
    rows = AuditEvent.requests_shown.through.objects.filter(consultationrequest_id=request_pk)
    for change in [lambda: rows.update(consultationrequest_id=other.pk), rows.delete]:
        with pytest.raises(DatabaseError, match="cannot be changed or deleted"), transaction.atomic():
            change()
    assert rows.count() == 1


def test_the_audit_trail_shows_which_requests_a_list_showed(client, login_as, kind, reyes):
    (request_pk,) = book_monday(reyes, kind, [9])
    client.get(f"/calendar/{reyes.calendar_feed_token}.ics")
    event = AuditEvent.objects.get(action=AuditEvent.Action.LIST)
    login_as("clinic_admin")

    html = client.get(f"/admin/appointments/auditevent/{event.pk}/change/").content.decode()

    reference = ConsultationRequest.objects.get(pk=request_pk).reference
    assert f'<a href="/admin/appointments/consultationrequest/{request_pk}/change/">{reference}</a>' in html
