"""Staff move a booked consultation, book outside a clinician's hours (clinic admins only), and
clear the appointments that time off or new hours left outside working time."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, AvailabilityException, OutboundEmail
from appointments.services import MoveReason, Source, appointment_book, appointment_move
from appointments.services.reminders import appointment_reminder_enqueue
from appointments.slots import appointments_outside_hours
from tests.factories import make_clinician, make_request, make_staff

from .conftest import SCREENING_MARKERS, admin_form_data, change_url

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
MONDAY, TUESDAY = 0, 1
CONFLICTS_URL = "/admin/appointments/clinician/conflicts/"
CALENDAR_URL = "/admin/appointments/clinician/calendar/"
CLINICIANS_URL = "/admin/appointments/clinician/"
VIDEO = "Join at https://video.clinic.example/room-7"


@pytest.fixture(autouse=True)
def _clinic_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"


@pytest.fixture
def monday():
    day = timezone.localdate() + datetime.timedelta(days=14)
    return day + datetime.timedelta(days=(MONDAY - day.weekday()) % 7)


def at(day, hour, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=NEW_YORK)


def slot(clinician, moment):
    return f"{clinician.pk}:{moment.astimezone(datetime.UTC):%Y%m%dT%H%MZ}"


@pytest.fixture
def reyes(kind):
    return make_clinician(
        kinds=[kind],
        states=["NY"],
        hours=[(MONDAY, "09:00", "12:00")],
        display_name="Dr. Ana Reyes",
        telehealth_instructions=VIDEO,
    )


@pytest.fixture
def okafor(kind):
    return make_clinician(
        kinds=[kind],
        states=["NY"],
        hours=[(MONDAY, "13:00", "15:00")],
        display_name="Dr. Ben Okafor",
        telehealth_instructions="Join at https://video.clinic.example/room-9",
    )


def book(clinician, kind, starts_at, **request_fields):
    return appointment_book(
        consultation_request=make_request(state="NY", modality="telehealth", **request_fields),
        clinician=clinician,
        kind=kind,
        starts_at=starts_at,
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
    )


def screened_booking(clinician, kind, starts_at):
    markers = {name: value for name, value in SCREENING_MARKERS.items() if name != "concern_other"}
    return book(clinician, kind, starts_at, email="maria@example.com", first_name="Maria", **markers)


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


# --- The service ------------------------------------------------------------------------------------


def test_a_staff_move_updates_the_same_event_explains_why_and_withdraws_old_reminders(
    kind, reyes, okafor, monday
):
    appointment = screened_booking(reyes, kind, at(monday, 10))
    reminder = appointment_reminder_enqueue(appointment=appointment, hours=24)
    assert reminder is not None
    front_desk = make_staff("front_desk")

    moved = appointment_move(
        appointment=appointment,
        starts_at=at(monday, 13),
        clinician=okafor,
        reason=MoveReason.CLINICIAN_UNAVAILABLE,
        source=Source.STAFF,
        by=front_desk,
    )

    stored = Appointment.objects.get(pk=appointment.pk)
    assert (stored.starts_at, stored.clinician, stored.sequence, stored.uid) == (
        at(monday, 13),
        okafor,
        1,
        appointment.uid,
    )
    assert moved.telehealth_instructions == "Join at https://video.clinic.example/room-9"
    assert not OutboundEmail.objects.filter(pk=reminder.pk).exists()
    update = OutboundEmail.objects.get(dedupe_key=f"appointment:{appointment.uid}:1")
    assert update.to == "maria@example.com"
    assert f"on {monday:%A, %B} {monday.day}, 10:00 AM has moved." in update.body
    assert "Your clinician is no longer available at that time, so we have moved it." in update.body
    assert f"When: {monday:%A, %B} {monday.day}, {monday.year}, 1:00 PM EST" in update.body
    assert "SEQUENCE:1" in update.ics and f"UID:{appointment.uid}" in update.ics
    for marker in SCREENING_MARKERS.values():
        assert marker not in update.subject + update.body + update.ics


def test_a_move_needs_a_known_reason(kind, reyes, monday):
    appointment = book(reyes, kind, at(monday, 10))
    with pytest.raises(ValidationError):
        appointment_move(
            appointment=appointment,
            starts_at=at(monday, 11),
            reason="my-own-words",
            source=Source.STAFF,
            by=make_staff("front_desk"),
        )
    assert Appointment.objects.get(pk=appointment.pk).starts_at == at(monday, 10)


@pytest.mark.parametrize("role", ["front_desk", "clinician"])
def test_only_a_clinic_admin_may_book_outside_hours_in_the_service(kind, reyes, monday, role):
    consultation_request = make_request(state="NY")
    outside = {
        "consultation_request": consultation_request,
        "starts_at": at(monday, 16),
        "duration_minutes": 60,
        "modality": Appointment.Modality.TELEHEALTH,
        "telehealth_instructions": VIDEO,
        "clinician": reyes,
    }
    with pytest.raises(ValidationError) as refused:
        appointment_book(**outside, source=Source.STAFF, outside_hours=True, by=make_staff(role))
    assert refused.value.code == "override_refused"
    with pytest.raises(ValidationError) as refused:
        appointment_book(**outside, source=Source.STAFF, by=make_staff("clinic_admin", username="admin1"))
    assert refused.value.code == "outside_hours"
    assert not Appointment.objects.exists()

    booked = appointment_book(
        **outside, outside_hours=True, source=Source.STAFF, by=make_staff("clinic_admin", username="admin2")
    )
    assert (booked.clinician, booked.starts_at, booked.outside_hours_approved) == (
        reyes,
        at(monday, 16),
        True,
    )
    # Approved on purpose: not a conflict to move.
    assert appointments_outside_hours(now=timezone.now()) == []


# --- Moving from the request's page -----------------------------------------------------------------


def test_the_front_desk_moves_a_booking_to_another_clinicians_open_time_from_the_request_page(
    client,
    login_as,
    kind,
    reyes,
    okafor,
    monday,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
):
    login_as("front_desk")
    appointment = screened_booking(reyes, kind, at(monday, 10))
    consultation_request = appointment.consultation_request
    client.get(change_url(consultation_request))

    with django_assert_max_num_queries(60):
        page = client.get(change_url(consultation_request), {"book_from": monday.isoformat()})
    html = page.content.decode()
    assert "Move the booked consultation" in html
    assert "Book an open time" not in html
    # The other times of both clinicians; its own time is not offered as a move.
    assert f'name="move_slot" value="{slot(reyes, at(monday, 11))}"' in html
    assert f'name="move_slot" value="{slot(okafor, at(monday, 13))}"' in html
    assert f'value="{slot(reyes, at(monday, 10))}"' not in html
    assert 'name="move_reason" value="clinician_unavailable" checked' in html

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:appointments_consultationrequest_move", args=[consultation_request.pk]),
            {"move_slot": slot(okafor, at(monday, 13)), "move_reason": "patient_asked"},
            follow=True,
        )

    assert response.redirect_chain[-1][0] == change_url(consultation_request)
    assert messages_of(response) == [
        f"Moved to {monday:%b} {monday.day}, {monday.year}, 13:00 EST with Dr. Ben Okafor. "
        "The patient was e-mailed the updated invitation, with the reason."
    ]
    appointment.refresh_from_db()
    assert (appointment.clinician, appointment.starts_at, appointment.sequence) == (okafor, at(monday, 13), 1)
    update = OutboundEmail.objects.get(dedupe_key=f"appointment:{appointment.uid}:1")
    assert "We have moved it as you asked." in update.body


def test_a_move_to_a_time_taken_meanwhile_or_tampered_with_is_refused_with_a_message(
    client, login_as, kind, reyes, monday
):
    login_as("front_desk")
    appointment = book(reyes, kind, at(monday, 10))
    book(reyes, kind, at(monday, 11))
    url = reverse("admin:appointments_consultationrequest_move", args=[appointment.consultation_request_id])

    response = client.post(
        url, {"move_slot": slot(reyes, at(monday, 11)), "move_reason": "clinic"}, follow=True
    )
    (message,) = messages_of(response)
    assert message.startswith("That time has just been taken. The nearest open times: ")
    for tampered in [
        {"move_slot": "12:yesterday", "move_reason": "clinic"},
        {"move_slot": slot(reyes, at(monday, 9)), "move_reason": "because"},
        {"move_slot": f"999999:{slot(reyes, at(monday, 9)).split(':')[1]}", "move_reason": "clinic"},
    ]:
        response = client.post(url, tampered, follow=True)
        assert response.status_code == 200
        assert messages_of(response) == ["That time could not be read. Choose one of the times shown."]
    appointment.refresh_from_db()
    assert (appointment.starts_at, appointment.sequence) == (at(monday, 10), 0)
    assert client.get(url).status_code == 405


# --- A manual time outside the hours: each role ----------------------------------------------------


def manual(consultation_request, clinician, day, hour, **overrides):
    return admin_form_data(
        consultation_request,
        appointment_date=day.isoformat(),
        appointment_time=f"{hour:02d}:00",
        appointment_modality="telehealth",
        appointment_instructions=VIDEO,
        appointment_clinician=clinician.pk,
        **overrides,
    )


@pytest.mark.parametrize("role", ["front_desk", "clinician"])
def test_other_roles_get_no_override_box_and_a_time_outside_hours_is_refused(
    client, login_as, reyes, monday, role
):
    login_as(role)
    consultation_request = make_request(state="NY", modality="telehealth")
    html = client.get(change_url(consultation_request)).content.decode()
    assert "Book outside this clinician" not in html
    assert 'name="appointment_clinician"' in html

    # The box sent anyway is not read.
    response = client.post(
        change_url(consultation_request),
        manual(consultation_request, reyes, monday, 16, appointment_outside_hours="on"),
    )

    assert response.status_code == 200
    assert "That time is outside Dr. Ana Reyes&#x27;s working hours." in response.content.decode()
    assert not Appointment.objects.exists()


def test_a_clinic_admin_books_outside_hours_with_the_box_and_never_over_another_booking(
    client, login_as, kind, reyes, monday
):
    login_as("clinic_admin")
    consultation_request = make_request(state="NY", modality="telehealth")
    html = client.get(change_url(consultation_request)).content.decode()
    assert "Book outside this clinician&#x27;s hours" in html

    response = client.post(change_url(consultation_request), manual(consultation_request, reyes, monday, 16))
    assert response.status_code == 200
    assert "That time is outside Dr. Ana Reyes&#x27;s working hours." in response.content.decode()
    assert not Appointment.objects.exists()

    # Over another of the clinician's appointments, ticked or not: a form error, never a 500.
    book(reyes, kind, at(monday, 10))
    response = client.post(
        change_url(consultation_request),
        manual(consultation_request, reyes, monday, 10, appointment_outside_hours="on"),
    )
    assert response.status_code == 200
    assert "The clinician already has an appointment at that time." in response.content.decode()
    assert Appointment.objects.count() == 1

    response = client.post(
        change_url(consultation_request),
        manual(consultation_request, reyes, monday, 16, appointment_outside_hours="on"),
        follow=True,
    )
    assert messages_of(response) == [
        f"Booked {monday:%b} {monday.day}, {monday.year}, 16:00 EST with Dr. Ana Reyes. "
        "The patient was e-mailed a calendar invitation."
    ]
    stored = Appointment.objects.get(consultation_request=consultation_request)
    assert (stored.clinician, stored.starts_at, stored.outside_hours_approved) == (
        reyes,
        at(monday, 16),
        True,
    )
    assert OutboundEmail.objects.filter(dedupe_key=f"appointment:{stored.uid}:0").exists()


def test_booking_by_hand_says_the_patient_was_e_mailed_not_changed_successfully(client, login_as, monday):
    login_as("front_desk")
    consultation_request = make_request(state="NY", modality="telehealth")
    data = admin_form_data(
        consultation_request,
        appointment_date=monday.isoformat(),
        appointment_time="15:30",
        appointment_modality="telehealth",
        appointment_instructions=VIDEO,
    )

    response = client.post(change_url(consultation_request), data, follow=True)
    shown = messages_of(response)
    assert shown == [
        f"Booked {monday:%b} {monday.day}, {monday.year}, 15:30 EST. The patient was e-mailed a calendar invitation."
    ]
    assert "changed successfully" not in " ".join(shown)

    consultation_request.refresh_from_db()
    data = admin_form_data(consultation_request, appointment_time="16:00")
    response = client.post(change_url(consultation_request), data, follow=True)
    assert messages_of(response) == [
        f"Changed the booking: now {monday:%b} {monday.day}, {monday.year}, 16:00 EST. "
        "The patient was e-mailed the updated invitation."
    ]
    # Saving a note only: Django's message, no word of an e-mail.
    data = admin_form_data(consultation_request, new_note="Called, no answer")
    response = client.post(change_url(consultation_request), data, follow=True)
    assert "e-mailed" not in " ".join(messages_of(response))


# --- Time off over booked appointments -----------------------------------------------------------


def hours_form(clinician, *, exceptions=()):
    data = {
        "user": clinician.user_id,
        "display_name": clinician.display_name,
        "kinds": [kind.pk for kind in clinician.kinds.all()],
        "licensed_states": clinician.licensed_states,
        "telehealth_instructions": clinician.telehealth_instructions,
        "is_active": "on",
        "exceptions-TOTAL_FORMS": len(exceptions),
        "exceptions-INITIAL_FORMS": 0,
    }
    existing = list(clinician.weekly_hours.all())
    data["weekly_hours-TOTAL_FORMS"] = data["weekly_hours-INITIAL_FORMS"] = len(existing)
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
    for index, (day, exception_kind, starts, ends) in enumerate(exceptions):
        data.update(
            {
                f"exceptions-{index}-date": day.isoformat(),
                f"exceptions-{index}-kind": exception_kind,
                f"exceptions-{index}-starts": starts,
                f"exceptions-{index}-ends": ends,
            }
        )
    return data


def test_time_off_over_bookings_lists_them_everywhere_until_each_is_moved(
    client, login_as, kind, reyes, okafor, monday, django_assert_max_num_queries
):
    login_as("clinic_admin")
    first = book(reyes, kind, at(monday, 9))
    second = book(reyes, kind, at(monday, 11))
    untouched = book(okafor, kind, at(monday, 13))

    response = client.post(
        f"{CLINICIANS_URL}{reyes.pk}/change/",
        hours_form(reyes, exceptions=[(monday, "time_off", "", "")]),
        follow=True,
    )
    (message,) = [text for text in messages_of(response) if "outside" in text]
    assert message.startswith(
        "2 booked appointments are now outside Dr. Ana Reyes's working time: "
        f"{first.consultation_request.reference} {monday:%a %d %b} 09:00; "
        f"{second.consultation_request.reference} {monday:%a %d %b} 11:00."
    )
    assert f'<a href="{CONFLICTS_URL}">Move each to another time or clinician</a>' in message
    assert AvailabilityException.objects.filter(clinician=reyes, date=monday).exists()

    client.get(CONFLICTS_URL)
    with django_assert_max_num_queries(12):
        page = client.get(CONFLICTS_URL)
    html = page.content.decode()
    for appointment in (first, second):
        request_url = change_url(appointment.consultation_request)
        assert (
            f'href="{request_url}?move_reason=clinician_unavailable&amp;book_from={monday}#open-times-heading"'
            in html
        )
        assert appointment.consultation_request.reference in html
    assert untouched.consultation_request.reference not in html
    assert "Dr. Ana Reyes" in html
    # Nothing clinical, no patient name.
    assert first.consultation_request.last_name not in html

    notice = "2 booked appointments are outside their clinicians' working time"
    assert notice in client.get("/admin/").content.decode()
    assert notice in client.get(CALENDAR_URL).content.decode()

    for appointment, clinician, moment in [
        (first, okafor, at(monday, 14)),
        (second, reyes, at(monday + datetime.timedelta(days=7), 9)),
    ]:
        client.post(
            reverse(
                "admin:appointments_consultationrequest_move", args=[appointment.consultation_request_id]
            ),
            {"move_slot": slot(clinician, moment), "move_reason": "clinician_unavailable"},
        )
    assert appointments_outside_hours(now=timezone.now()) == []
    html = client.get(CONFLICTS_URL).content.decode()
    assert "Every booked appointment is inside its clinician's working time." in html
    assert "outside their clinicians" not in client.get("/admin/").content.decode()


@pytest.mark.parametrize("role", ["front_desk", "clinician", "clinic_admin"])
def test_every_role_that_sees_the_calendar_sees_the_conflicts(client, login_as, kind, reyes, monday, role):
    login_as(role)
    appointment = book(reyes, kind, at(monday, 10))
    AvailabilityException.objects.create(clinician=reyes, date=monday)
    html = client.get(CONFLICTS_URL).content.decode()
    assert appointment.consultation_request.reference in html
    assert "Move" in html


def test_the_conflicts_page_needs_the_calendar_permission(client, db):
    from tests.factories import log_in_verified

    user = make_staff("front_desk", username="nocalendar")
    user.groups.clear()
    user.is_staff = True
    user.save()
    log_in_verified(client, user)
    assert client.get(CONFLICTS_URL).status_code == 403


def test_a_spanish_speaking_patient_reads_why_it_moved_in_spanish(kind, reyes, okafor, monday):
    appointment = book(reyes, kind, at(monday, 10), language="es")

    appointment_move(
        appointment=appointment,
        starts_at=at(monday, 14),
        clinician=okafor,
        reason=MoveReason.CLINICIAN_UNAVAILABLE,
        source=Source.STAFF,
        by=make_staff("front_desk"),
    )

    update = OutboundEmail.objects.get(dedupe_key=f"appointment:{appointment.uid}:1")
    assert "cambió de hora." in update.body
    assert "Su profesional ya no está disponible a esa hora, por eso la cambiamos." in update.body
    assert "Esta es la nueva cita:" in update.body
    assert "no longer available" not in update.body
