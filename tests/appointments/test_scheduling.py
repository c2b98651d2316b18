"""Booking a consultation: the clinic's time zone, the .ics invitation, updates and cancellations."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone
from icalendar import Calendar

from appointments.emails import outbound_email_send_due
from appointments.models import Appointment, AuditEvent, ConsultationRequest, OutboundEmail
from appointments.services import (
    Source,
    appointment_book,
    appointment_cancel,
    consultation_request_cancel_by_patient,
    consultation_request_set_status,
)
from tests.factories import make_request, make_staff

from .conftest import SCREENING_MARKERS, admin_form_data, change_url

pytestmark = pytest.mark.django_db

Status = ConsultationRequest.Status
CLINIC = ZoneInfo("America/New_York")


@pytest.fixture(autouse=True)
def _clinic_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"


def next_week_local(hour=14, minute=30):
    day = timezone.localdate() + datetime.timedelta(days=7)
    return day, datetime.time(hour, minute)


def screened(**overrides):
    return make_request(
        first_name="Maria",
        email="maria@example.com",
        **{name: value for name, value in SCREENING_MARKERS.items() if name != "concern_other"},
        **overrides,
    )


def event_of(email):
    calendar = Calendar.from_ical(email.ics)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def schedule_form(consultation_request, day, time, **overrides):
    return admin_form_data(
        consultation_request,
        appointment_date=day.isoformat(),
        appointment_time=time.strftime("%H:%M"),
        **overrides,
    )


def test_booking_on_the_page_stores_utc_sends_an_invitation_and_marks_the_request_scheduled(client, login_as):
    user = login_as("front_desk")
    consultation_request = screened()
    day, time = next_week_local(14, 30)
    response = client.post(
        change_url(consultation_request),
        schedule_form(
            consultation_request,
            day,
            time,
            appointment_modality="telehealth",
            appointment_instructions="Join at https://video.clinic.example/r/42",
        ),
    )
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    expected = datetime.datetime.combine(day, time, tzinfo=CLINIC)
    assert appointment.starts_at == expected
    assert appointment.starts_at.astimezone(datetime.UTC).hour == expected.astimezone(datetime.UTC).hour
    assert (appointment.modality, appointment.sequence, appointment.scheduled_by) == ("telehealth", 0, user)
    consultation_request.refresh_from_db()
    assert consultation_request.status == Status.SCHEDULED

    email = OutboundEmail.objects.get(dedupe_key__startswith="appointment:")
    assert email.to == "maria@example.com"
    assert "Your consultation is booked" in email.subject
    assert f"{time.strftime('%-I:%M')} PM" in email.body and "America/New_York" in email.body
    assert "https://video.clinic.example/r/42" in email.body
    calendar, event = event_of(email)
    assert str(calendar["METHOD"]) == "REQUEST"
    assert event["UID"] == appointment.uid
    assert int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == expected.astimezone(datetime.UTC)
    assert "DTSTART:" in email.ics and email.ics.split("DTSTART:")[1][:16].endswith("Z")
    assert event.decoded("DTEND") - event.decoded("DTSTART") == datetime.timedelta(minutes=60)
    assert consultation_request.reference in str(event["DESCRIPTION"])
    assert str(event["ATTENDEE"]) == "mailto:maria@example.com"


def test_the_invitation_and_its_calendar_carry_no_health_detail(client, login_as):
    login_as("front_desk")
    consultation_request = screened(concern="bipolar_depression", flags=["psychosis"], psychosis_history=True)
    day, time = next_week_local()
    client.post(
        change_url(consultation_request),
        schedule_form(consultation_request, day, time, appointment_modality="in_person"),
    )
    email = OutboundEmail.objects.get(dedupe_key__startswith="appointment:")
    # The reference is random letters and can spell "PHQ": it is not a health detail.
    text = f"{email.subject}\n{email.body}\n{email.ics}".replace(consultation_request.reference, "").lower()
    for marker in SCREENING_MARKERS.values():
        assert marker.lower() not in text
    for word in ["bipolar", "psychosis", "phq", "medication", "self-harm", "depress"]:
        assert word not in text
    assert "100 Main Street" in email.body


def test_the_page_labels_times_as_the_clinics(client, login_as):
    login_as("front_desk")
    html = client.get(change_url(make_request())).content.decode()
    assert "Time (clinic time: America/New York)" in html
    assert 'type="date"' in html and 'type="time"' in html


def test_rescheduling_updates_the_same_event_and_cancelling_cancels_it(client, login_as):
    login_as("front_desk")
    consultation_request = screened()
    day, time = next_week_local(9, 0)
    url = change_url(consultation_request)
    client.post(url, schedule_form(consultation_request, day, time, appointment_modality="in_person"))
    appointment = Appointment.objects.get()
    consultation_request.refresh_from_db()

    response = client.post(url, schedule_form(consultation_request, day, datetime.time(11, 15)))
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.sequence == 1
    assert appointment.starts_at == datetime.datetime.combine(day, datetime.time(11, 15), tzinfo=CLINIC)
    update = OutboundEmail.objects.get(dedupe_key=f"appointment:{appointment.uid}:1")
    assert "has moved" in update.subject
    _calendar, event = event_of(update)
    assert (event["UID"], int(event["SEQUENCE"])) == (appointment.uid, 1)

    # Saving the page unchanged sends nothing.
    client.post(url, admin_form_data(consultation_request))
    assert OutboundEmail.objects.filter(dedupe_key__startswith="appointment:").count() == 2

    response = client.post(url, admin_form_data(consultation_request, cancel_appointment="on"))
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert (appointment.status, appointment.sequence) == ("cancelled", 2)
    cancellation = OutboundEmail.objects.get(dedupe_key=f"appointment:{appointment.uid}:2")
    calendar, event = event_of(cancellation)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert (event["UID"], int(event["SEQUENCE"])) == (appointment.uid, 2)
    consultation_request.refresh_from_db()
    assert consultation_request.status == Status.CONTACTED


def test_closing_a_scheduled_request_cancels_its_booking(db):
    staff = make_staff("front_desk")
    consultation_request = screened()
    appointment = appointment_book(
        consultation_request=consultation_request,
        starts_at=timezone.now() + datetime.timedelta(days=3),
        duration_minutes=45,
        modality="in_person",
        location="Room 2",
        source=Source.STAFF,
        by=staff,
    )
    consultation_request_set_status(
        consultation_request=consultation_request, status=Status.CANCELLED_BY_STAFF, by=staff
    )
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert OutboundEmail.objects.filter(dedupe_key=f"appointment:{appointment.uid}:1").exists()


def test_completing_a_scheduled_request_keeps_its_booking(db):
    staff = make_staff("front_desk")
    consultation_request = screened()
    appointment_book(
        consultation_request=consultation_request,
        starts_at=timezone.now() + datetime.timedelta(hours=1),
        duration_minutes=60,
        modality="in_person",
        location="Room 2",
        source=Source.STAFF,
        by=staff,
    )
    consultation_request_set_status(
        consultation_request=consultation_request, status=Status.COMPLETED, by=staff
    )
    assert Appointment.objects.get().status == Appointment.Status.BOOKED


def test_the_patient_cancelling_a_scheduled_request_gets_the_calendar_cancellation(
    db, django_capture_on_commit_callbacks
):
    staff = make_staff("front_desk")
    consultation_request = screened()
    appointment = appointment_book(
        consultation_request=consultation_request,
        starts_at=timezone.now() + datetime.timedelta(days=2),
        duration_minutes=60,
        modality="telehealth",
        telehealth_instructions="Link to follow",
        source=Source.STAFF,
        by=staff,
    )
    with django_capture_on_commit_callbacks(execute=True):
        consultation_request_cancel_by_patient(consultation_request=consultation_request)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert OutboundEmail.objects.filter(dedupe_key=f"appointment:{appointment.uid}:1").exists()
    assert OutboundEmail.objects.filter(dedupe_key__endswith="cancelled-by-patient").exists()
    event = AuditEvent.objects.get(action="schedule", description__startswith="Cancelled")
    assert event.actor is None and event.actor_label == "patient"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"appointment_time": ""}, "appointment_time", "Enter the consultation’s date and time."),
        (
            {"appointment_modality": "telehealth", "appointment_instructions": ""},
            "appointment_instructions",
            "Enter the video link",
        ),
        (
            {"appointment_modality": "in_person", "appointment_location": ""},
            "appointment_location",
            "Enter where the consultation takes place.",
        ),
        ({"appointment_modality": None}, "appointment_modality", "Choose in person or telehealth."),
        ({"status": "declined"}, "status", "A request being closed cannot be scheduled at the same time."),
    ],
)
def test_a_booking_that_cannot_be_made_is_explained_next_to_its_field(
    client, login_as, overrides, field, message
):
    login_as("front_desk")
    consultation_request = make_request(modality="either")
    day, time = next_week_local()
    data = schedule_form(consultation_request, day, time, appointment_modality="in_person")
    data.update({key: value for key, value in overrides.items() if value is not None})
    for key in [key for key, value in overrides.items() if value is None]:
        data.pop(key, None)
    response = client.post(change_url(consultation_request), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Appointment.objects.exists()
    assert not OutboundEmail.objects.exists()


def test_a_time_in_the_past_is_refused(client, login_as):
    login_as("front_desk")
    consultation_request = make_request()
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    response = client.post(
        change_url(consultation_request),
        schedule_form(
            consultation_request, yesterday, datetime.time(10, 0), appointment_modality="in_person"
        ),
    )
    assert "Choose a date and time in the future." in response.content.decode()
    assert not Appointment.objects.exists()


def test_a_time_the_clocks_skip_is_refused(client, login_as):
    login_as("front_desk")
    consultation_request = make_request()
    # The second Sunday of March: New York's clocks go from 2:00 straight to 3:00.
    year = timezone.localdate().year + 1
    march = datetime.date(year, 3, 1)
    second_sunday = march + datetime.timedelta(days=(6 - march.weekday()) % 7 + 7)
    response = client.post(
        change_url(consultation_request),
        schedule_form(
            consultation_request, second_sunday, datetime.time(2, 30), appointment_modality="in_person"
        ),
    )
    assert "The clinic’s clocks skip that time" in response.content.decode()
    assert not Appointment.objects.exists()


def test_a_closed_request_cannot_be_scheduled(db):
    staff = make_staff("front_desk")
    consultation_request = make_request(status=Status.DECLINED)
    with pytest.raises(ValidationError, match="closed"):
        appointment_book(
            consultation_request=consultation_request,
            starts_at=timezone.now() + datetime.timedelta(days=1),
            duration_minutes=60,
            modality="in_person",
            location="Room 1",
            source=Source.STAFF,
            by=staff,
        )
    assert not Appointment.objects.exists()


def test_scheduled_is_reached_only_by_booking(client, login_as):
    login_as("front_desk")
    consultation_request = make_request()
    response = client.post(
        change_url(consultation_request), admin_form_data(consultation_request, status="scheduled")
    )
    assert "A request is marked scheduled by booking its consultation" in response.content.decode()
    consultation_request.refresh_from_db()
    assert consultation_request.status == Status.NEW


def test_a_cancelled_booking_can_be_cancelled_only_once(db):
    staff = make_staff("front_desk")
    consultation_request = make_request()
    appointment = appointment_book(
        consultation_request=consultation_request,
        starts_at=timezone.now() + datetime.timedelta(days=1),
        duration_minutes=60,
        modality="in_person",
        location="Room 1",
        source=Source.STAFF,
        by=staff,
    )
    appointment_cancel(appointment=appointment, source=Source.STAFF, by=staff)
    appointment_cancel(appointment=appointment, source=Source.STAFF, by=staff)
    assert OutboundEmail.objects.filter(dedupe_key__startswith="appointment:").count() == 2


def test_the_worker_sends_the_invitation_with_its_ics_attachment(db):
    staff = make_staff("front_desk")
    consultation_request = screened()
    appointment_book(
        consultation_request=consultation_request,
        starts_at=timezone.now() + datetime.timedelta(days=1),
        duration_minutes=30,
        modality="in_person",
        location="100 Main Street",
        source=Source.STAFF,
        by=staff,
    )
    report = outbound_email_send_due()
    assert report.sent == 1
    (message,) = mail.outbox
    assert message.to == ["maria@example.com"]
    (filename, content, mimetype) = message.attachments[0]
    assert filename == "invitation.ics" and mimetype == "text/calendar"
    assert Calendar.from_ical(content).walk("VEVENT")[0]["LOCATION"] == "100 Main Street"
