"""Staff book a request's consultation from the open times on its page, in one click."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, AuditEvent, ConsultationRequest, OutboundEmail
from appointments.services import Source, appointment_book
from tests.factories import log_in_verified, make_clinician, make_kind, make_request

from .conftest import SCREENING_MARKERS, change_url

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
MONDAY = 0


@pytest.fixture(autouse=True)
def _clinic_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"


def a_monday_weeks_ahead():
    day = timezone.localdate() + datetime.timedelta(days=14)
    return day + datetime.timedelta(days=(MONDAY - day.weekday()) % 7)


def at(day, hour):
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=NEW_YORK)


def slot(clinician, moment):
    return f"{clinician.pk}:{moment.astimezone(datetime.UTC):%Y%m%dT%H%MZ}"


@pytest.fixture
def monday():
    return a_monday_weeks_ahead()


@pytest.fixture
def reyes(kind):
    return make_clinician(
        kinds=[kind],
        states=["NY"],
        hours=[(MONDAY, "09:00", "11:00")],
        display_name="Dr. Ana Reyes",
        telehealth_instructions="Join at https://video.clinic.example/room-7",
    )


def book_url(consultation_request):
    return reverse("admin:appointments_consultationrequest_book", args=[consultation_request.pk])


def test_the_front_desk_sees_the_open_times_and_books_one_in_a_click(
    client, login_as, kind, reyes, monday, django_capture_on_commit_callbacks
):
    make_clinician(
        kinds=[kind], states=["CA"], hours=[(MONDAY, "09:00", "11:00")], display_name="Dr. California"
    )
    front_desk = login_as("front_desk")
    screening = {name: value for name, value in SCREENING_MARKERS.items() if name != "concern_other"}
    consultation_request = make_request(
        state="NY", modality="telehealth", email="maria@example.com", **screening
    )

    html = client.get(change_url(consultation_request), {"book_from": monday.isoformat()}).content.decode()
    assert "Book an open time" in html
    assert f"{monday:%A, %B} {monday.day}" in html
    assert f'value="{slot(reyes, at(monday, 9))}"' in html
    assert f'value="{slot(reyes, at(monday, 10))}"' in html
    assert "9:00 AM · Dr. Ana Reyes" in html
    # Only the clinicians licensed in the patient's state.
    assert "Dr. California" not in html
    # The patient asked for video: only video is offered.
    assert 'name="book_modality" value="telehealth" checked' in html
    assert 'name="book_modality" value="in_person"' not in html

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            book_url(consultation_request),
            {"book_slot": slot(reyes, at(monday, 10)), "book_kind": kind.pk, "book_modality": "telehealth"},
            follow=True,
        )
    assert response.redirect_chain[-1][0] == change_url(consultation_request)
    shown = [str(message) for message in response.context["messages"]]
    assert shown == [
        f"Booked {at(monday, 10):%b} {monday.day}, {monday.year}, 10:00 EST with Dr. Ana Reyes. "
        "The patient was e-mailed a calendar invitation."
    ]
    appointment = Appointment.objects.get()
    assert (appointment.clinician, appointment.kind, appointment.starts_at, appointment.modality) == (
        reyes,
        kind,
        at(monday, 10),
        "telehealth",
    )
    assert appointment.scheduled_by == front_desk
    consultation_request.refresh_from_db()
    assert consultation_request.status == ConsultationRequest.Status.SCHEDULED
    invitation = OutboundEmail.objects.get(dedupe_key=f"appointment:{appointment.uid}:0")
    assert invitation.to == "maria@example.com" and "METHOD:REQUEST" in invitation.ics
    for marker in SCREENING_MARKERS.values():
        assert marker not in invitation.subject + invitation.body + invitation.ics
    assert AuditEvent.objects.filter(
        actor=front_desk, description__startswith="Booked First consultation"
    ).exists()
    # Booked: the page no longer offers times to book.
    assert "Book an open time" not in client.get(change_url(consultation_request)).content.decode()


def test_a_time_taken_meanwhile_or_tampered_with_is_refused_with_a_message(
    client, login_as, kind, reyes, monday
):
    login_as("front_desk")
    consultation_request = make_request(state="NY", modality="either")
    appointment_book(
        consultation_request=make_request(state="NY"),
        clinician=reyes,
        kind=kind,
        starts_at=at(monday, 10),
        modality="in_person",
        source=Source.PATIENT,
    )
    data = {"book_slot": slot(reyes, at(monday, 10)), "book_kind": kind.pk, "book_modality": "in_person"}
    response = client.post(book_url(consultation_request), data, follow=True)
    (message,) = [str(message) for message in response.context["messages"]]
    assert message.startswith("That time has just been taken. The nearest open times: ")
    assert f"{monday.day}, {monday.year}, 09:00 EST" in message

    for tampered in [
        {**data, "book_slot": "12:yesterday"},
        {**data, "book_slot": "DROP TABLE"},
        {**data, "book_kind": "999999"},
        {**data, "book_modality": "carrier-pigeon"},
    ]:
        response = client.post(book_url(consultation_request), tampered, follow=True)
        assert response.status_code == 200
        (message,) = [str(message) for message in response.context["messages"]]
        assert message == "That time could not be read. Choose one of the times shown."
    response = client.post(
        book_url(consultation_request), {**data, "book_slot": slot(reyes, at(monday, 3))}, follow=True
    )
    assert "That time has just been taken." in str(list(response.context["messages"])[0])
    assert consultation_request.appointments.count() == 0
    assert client.get(book_url(consultation_request)).status_code == 405


def test_staff_who_may_only_read_requests_see_no_times_and_cannot_book(client, kind, reyes, monday):
    reader = get_user_model().objects.create_user("reader", "reader@clinic.example", "x", is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_consultationrequest"))
    log_in_verified(client, reader)
    consultation_request = make_request(state="NY")
    html = client.get(change_url(consultation_request)).content.decode()
    assert "Book an open time" not in html
    data = {"book_slot": slot(reyes, at(monday, 10)), "book_kind": kind.pk, "book_modality": "in_person"}
    assert client.post(book_url(consultation_request), data).status_code == 403
    assert Appointment.objects.count() == 0


def test_a_kind_held_only_in_person_is_not_offered_for_a_video_request(client, login_as, reyes, kind):
    login_as("front_desk")
    in_person = make_kind(name="Clinic visit", modality="in_person")
    reyes.kinds.add(in_person)
    html = client.get(change_url(make_request(state="NY", modality="telehealth"))).content.decode()
    assert "First consultation (45 min)" in html and "Clinic visit" not in html
    html = client.get(change_url(make_request(state="NY", modality="either"))).content.decode()
    assert "Clinic visit" in html


def test_the_page_makes_as_many_queries_for_ten_clinicians_as_for_one(
    client, login_as, kind, reyes, monday, django_assert_max_num_queries
):
    login_as("front_desk")
    consultation_request = make_request(state="NY")
    url = change_url(consultation_request) + f"?book_from={monday.isoformat()}"
    client.get(url)

    def queries():
        with CaptureQueriesContext(connection) as context:
            response = client.get(url)
        assert response.status_code == 200
        return len(context.captured_queries), response.content.decode()

    one, _html = queries()
    for number in range(9):
        make_clinician(
            kinds=[kind], states=["NY"], hours=[(MONDAY, "09:00", "17:00")], display_name=f"Dr. {number}"
        )
    with django_assert_max_num_queries(one):
        many, html = queries()
    assert html.count('name="book_slot"') > 9 * 8
    assert many == one
