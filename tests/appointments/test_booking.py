"""Booking an open time with a clinician, moving it and cancelling it."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from icalendar import Calendar

from appointments.models import Appointment, AuditEvent, ConsultationRequest, OutboundEmail
from appointments.services import (
    SlotTaken,
    Source,
    appointment_book,
    appointment_cancel,
    appointment_move,
)
from appointments.slots import slot_is_open
from tests.factories import make_clinician, make_kind, make_request, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.kind(buffer_after_minutes=15)]

UTC = datetime.UTC
MONDAY = 0
NOW = datetime.datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def utc(text):
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clinic_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"


def test_booking_an_open_time_saves_it_schedules_the_request_and_sends_an_invitation(kind, clinician):
    front_desk = make_staff("front_desk")
    consultation_request = make_request(state="NY", email="maria@example.com")

    appointment = appointment_book(
        consultation_request=consultation_request,
        clinician=clinician,
        kind=kind,
        starts_at=utc("2026-06-01 14:00"),  # Monday 10:00 New York time
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.STAFF,
        by=front_desk,
        now=NOW,
    )

    appointment.refresh_from_db()
    assert appointment.clinician == clinician
    assert appointment.kind == kind
    assert appointment.duration_minutes == 45
    assert (appointment.blocked.lower, appointment.blocked.upper) == (
        utc("2026-06-01 14:00"),
        utc("2026-06-01 15:00"),
    )
    assert (appointment.blocked.lower_inc, appointment.blocked.upper_inc) == (True, False)
    assert appointment.telehealth_instructions == "Join at https://video.clinic.example/room-7"
    consultation_request.refresh_from_db()
    assert consultation_request.status == ConsultationRequest.Status.SCHEDULED
    (email,) = OutboundEmail.objects.all()
    assert email.to == "maria@example.com"
    (event,) = Calendar.from_ical(email.ics).walk("VEVENT")
    assert event.decoded("dtstart") == utc("2026-06-01 14:00")
    assert event.decoded("dtend") == utc("2026-06-01 14:45")
    assert AuditEvent.objects.filter(
        consultation_request=consultation_request, action=AuditEvent.Action.SCHEDULE
    ).exists()
    assert not slot_is_open(kind=kind, clinician=clinician, starts_at=utc("2026-06-01 14:00"), now=NOW)


def test_a_time_that_is_not_open_is_refused_with_the_nearest_open_times(kind, clinician):
    appointment_book(
        consultation_request=make_request(state="NY"),
        clinician=clinician,
        kind=kind,
        starts_at=utc("2026-06-01 14:00"),
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
        now=NOW,
    )

    with pytest.raises(SlotTaken) as refused:
        appointment_book(
            consultation_request=make_request(state="NY"),
            clinician=clinician,
            kind=kind,
            starts_at=utc("2026-06-01 14:00"),
            modality=Appointment.Modality.TELEHEALTH,
            source=Source.PATIENT,
            now=NOW,
        )

    assert "just been taken" in refused.value.messages[0]
    # Monday 1 June, 09:00-13:00 New York, hourly: 09:00, (10:00 taken), 11:00, 12:00.
    assert [slot.starts_at for slot in refused.value.nearest] == [
        utc("2026-06-01 13:00"),
        utc("2026-06-01 15:00"),
        utc("2026-06-01 16:00"),
    ]
    assert Appointment.objects.count() == 1


def test_a_clinician_not_licensed_in_the_patients_state_cannot_be_booked(kind, clinician):
    with pytest.raises(ValidationError) as refused:
        appointment_book(
            consultation_request=make_request(state="TX"),
            clinician=clinician,
            kind=kind,
            starts_at=utc("2026-06-01 14:00"),
            modality=Appointment.Modality.TELEHEALTH,
            source=Source.PATIENT,
            now=NOW,
        )
    assert refused.value.code == "licence"
    assert not Appointment.objects.exists()


def test_a_kind_held_only_in_person_cannot_be_booked_by_video(clinician):
    in_person = make_kind(duration_minutes=30, modality="in_person")
    clinician.kinds.add(in_person)
    with pytest.raises(ValidationError) as refused:
        appointment_book(
            consultation_request=make_request(state="NY"),
            clinician=clinician,
            kind=in_person,
            starts_at=utc("2026-06-01 14:00"),
            modality=Appointment.Modality.TELEHEALTH,
            source=Source.PATIENT,
            now=NOW,
        )
    assert refused.value.code == "modality"


def test_in_person_bookings_are_at_the_clinics_address(settings, clinician, kind):
    settings.CLINIC_ADDRESS = "100 Main Street, Springfield, NY 10001"
    appointment = appointment_book(
        consultation_request=make_request(state="NY"),
        clinician=clinician,
        kind=kind,
        starts_at=utc("2026-06-01 14:00"),
        modality=Appointment.Modality.IN_PERSON,
        source=Source.PATIENT,
        now=NOW,
    )
    assert appointment.location == "100 Main Street, Springfield, NY 10001"
    assert appointment.telehealth_instructions == ""


def test_a_request_with_a_booked_appointment_is_moved_not_booked_twice(kind, clinician):
    consultation_request = make_request(state="NY")
    appointment_book(
        consultation_request=consultation_request,
        clinician=clinician,
        kind=kind,
        starts_at=utc("2026-06-01 14:00"),
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
        now=NOW,
    )
    with pytest.raises(ValidationError) as refused:
        appointment_book(
            consultation_request=consultation_request,
            clinician=clinician,
            kind=kind,
            starts_at=utc("2026-06-01 16:00"),
            modality=Appointment.Modality.TELEHEALTH,
            source=Source.PATIENT,
            now=NOW,
        )
    assert refused.value.code == "booked"


def test_rescheduling_moves_the_time_frees_the_old_one_and_updates_the_same_event(kind, clinician):
    consultation_request = make_request(state="NY")
    appointment = appointment_book(
        consultation_request=consultation_request,
        clinician=clinician,
        kind=kind,
        starts_at=utc("2026-06-01 14:00"),
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
        now=NOW,
    )

    moved = appointment_move(
        appointment=appointment,
        starts_at=utc("2026-06-01 16:00"),
        source=Source.STAFF,
        by=make_staff("front_desk"),
        now=NOW,
    )

    assert moved.pk == appointment.pk
    assert moved.sequence == 1
    moved.refresh_from_db()
    assert (moved.blocked.lower, moved.blocked.upper) == (utc("2026-06-01 16:00"), utc("2026-06-01 17:00"))
    assert slot_is_open(kind=kind, clinician=clinician, starts_at=utc("2026-06-01 14:00"), now=NOW)
    invitation, update = OutboundEmail.objects.order_by("pk")
    first = Calendar.from_ical(invitation.ics).walk("VEVENT")[0]
    second = Calendar.from_ical(update.ics).walk("VEVENT")[0]
    assert str(second["uid"]) == str(first["uid"])
    assert (first["sequence"], second["sequence"]) == (0, 1)
    assert second.decoded("dtstart") == utc("2026-06-01 16:00")


def test_rescheduling_to_another_clinician_who_is_free_at_the_same_time(kind, clinician):
    other = make_clinician(kinds=[kind], states=["NY"], hours=[(MONDAY, "09:00", "13:00")])
    appointment = appointment_book(
        consultation_request=make_request(state="NY"),
        clinician=clinician,
        kind=kind,
        starts_at=utc("2026-06-01 14:00"),
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
        now=NOW,
    )

    moved = appointment_move(
        appointment=appointment,
        starts_at=utc("2026-06-01 14:00"),
        clinician=other,
        source=Source.STAFF,
        by=make_staff("front_desk"),
        now=NOW,
    )

    assert moved.clinician == other
    assert moved.sequence == 1
    assert slot_is_open(kind=kind, clinician=clinician, starts_at=utc("2026-06-01 14:00"), now=NOW)


def test_rescheduling_onto_a_taken_time_is_refused_and_keeps_the_appointment(kind, clinician):
    first = appointment_book(
        consultation_request=make_request(state="NY"),
        clinician=clinician,
        kind=kind,
        starts_at=utc("2026-06-01 14:00"),
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
        now=NOW,
    )
    appointment_book(
        consultation_request=make_request(state="NY"),
        clinician=clinician,
        kind=kind,
        starts_at=utc("2026-06-01 16:00"),
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
        now=NOW,
    )

    with pytest.raises(SlotTaken):
        appointment_move(appointment=first, starts_at=utc("2026-06-01 16:00"), source=Source.PATIENT, now=NOW)

    first.refresh_from_db()
    assert first.starts_at == utc("2026-06-01 14:00")
    assert first.sequence == 0


def test_cancelling_opens_the_time_again(kind, clinician):
    appointment = appointment_book(
        consultation_request=make_request(state="NY"),
        clinician=clinician,
        kind=kind,
        starts_at=utc("2026-06-01 14:00"),
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
        now=NOW,
    )

    appointment_cancel(appointment=appointment, source=Source.STAFF, by=make_staff("front_desk"))

    assert slot_is_open(kind=kind, clinician=clinician, starts_at=utc("2026-06-01 14:00"), now=NOW)
    appointment_book(
        consultation_request=make_request(state="NY"),
        clinician=clinician,
        kind=kind,
        starts_at=utc("2026-06-01 14:00"),
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
        now=NOW,
    )
    assert Appointment.objects.filter(status=Appointment.Status.BOOKED).count() == 1


def test_moving_a_clinicians_booking_by_hand_onto_another_is_refused_not_a_crash(kind, clinician):
    # The hand-typed scheduling on a request's page checks against the real clock.
    zone = timezone.get_default_timezone()
    today = timezone.localdate()
    monday = today + datetime.timedelta(days=7 - today.weekday())
    ten, twelve = (datetime.datetime.combine(monday, datetime.time(hour), tzinfo=zone) for hour in (10, 12))
    for starts_at in (ten, twelve):
        appointment_book(
            consultation_request=make_request(state="NY"),
            clinician=clinician,
            kind=kind,
            starts_at=starts_at,
            modality=Appointment.Modality.TELEHEALTH,
            source=Source.PATIENT,
        )
    later = Appointment.objects.get(starts_at=twelve)

    with pytest.raises(ValidationError) as refused:
        appointment_move(
            appointment=later,
            starts_at=ten + datetime.timedelta(minutes=30),
            duration_minutes=45,
            modality=Appointment.Modality.TELEHEALTH,
            telehealth_instructions="Join at https://video.clinic.example/room-7",
            source=Source.STAFF,
            by=make_staff("front_desk"),
        )

    assert refused.value.messages == ["The clinician already has an appointment at that time."]
    later.refresh_from_db()
    assert (later.starts_at, later.sequence) == (twelve, 0)
