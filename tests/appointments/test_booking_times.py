"""Choosing an open time while booking: the "when" page of step 4, the draft, and Send booking it."""

import datetime
import re
import zoneinfo

import pytest
from django.utils import timezone

from appointments.forms.times import time_value
from appointments.models import Appointment, BookingDraft, ConsultationRequest, OutboundEmail
from appointments.services import Source, appointment_book
from tests.booking import CHECK_URL, WHEN_URL, send_data, walk
from tests.factories import make_clinician, make_kind, make_request
from tests.outbox import render_pending

from .conftest import answers

pytestmark = pytest.mark.django_db

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
NOTICE_DAYS = 2


@pytest.fixture(autouse=True)
def _clinic_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"


@pytest.fixture
def kind():
    return make_kind(
        name="First consultation",
        duration_minutes=45,
        interval_minutes=60,
        minimum_notice_minutes=NOTICE_DAYS * 24 * 60,
        horizon_days=30,
    )


@pytest.fixture
def clinician(kind):
    return make_clinician(
        kinds=[kind],
        states=["NY", "CA"],
        hours=[(day, "09:00", "13:00") for day in range(7)],
        display_name="Dr. Ana Reyes",
        telehealth_instructions="Join at https://video.clinic.example/room-7",
    )


def first_full_day():
    """The first day all of whose times are past the minimum notice (the day after the notice ends)."""
    return (timezone.now() + datetime.timedelta(days=NOTICE_DAYS)).astimezone(
        NEW_YORK
    ).date() + datetime.timedelta(days=1)


def at(day, hour):
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=NEW_YORK)


def radio_values(page):
    return re.findall(r'name="time" value="([^"]+)"', page)


def to_the_times(client, **overrides):
    response = walk(client, answers(**overrides), stop_after="visit")
    assert response.status_code == 302
    return response


def test_after_in_person_or_video_the_patient_is_offered_a_weeks_open_times(client, clinician):
    response = to_the_times(client)
    assert response["Location"] == WHEN_URL

    page = client.get(WHEN_URL)
    html = page.content.decode()
    assert page.status_code == 200
    assert page["Cache-Control"].startswith("max-age=0") or "no-store" in page["Cache-Control"]
    assert "Step 4 of 5" in html
    assert "Choose a time" in html
    assert "First consultation: 45 minutes." in html
    assert "Times are in New York time." in html
    day = first_full_day()
    values = radio_values(html)
    for hour in (9, 10, 11, 12):
        assert time_value(at(day, hour)) in values
    assert ">9:00 AM</label>" in html
    assert ">12:00 PM</label>" in html
    assert day.strftime("%A, %B ") + str(day.day) in html
    # A week from the first bookable day; the next one is a page away.
    first = day - datetime.timedelta(days=1)
    assert time_value(at(first + datetime.timedelta(days=7), 9)) not in values
    assert f"?from={(first + datetime.timedelta(days=7)).isoformat()}" in html
    assert "Later dates" in html
    assert "call-me" in values
    # New York is Eastern time: one clock, shown once.
    assert "Pacific time" not in html.split('id="when-times"')[1]


def test_later_dates_page_on_and_a_bad_date_shows_the_first_week(client, clinician):
    to_the_times(client)
    first = first_full_day() - datetime.timedelta(days=1)
    later = first + datetime.timedelta(days=7)

    values = radio_values(client.get(f"{WHEN_URL}?from={later.isoformat()}").content.decode())
    assert time_value(at(later, 9)) in values
    assert time_value(at(later + datetime.timedelta(days=6), 12)) in values
    assert time_value(at(first_full_day(), 9)) not in values

    html = client.get(f"{WHEN_URL}?from=not-a-date").content.decode()
    assert time_value(at(first_full_day(), 9)) in radio_values(html)
    assert client.get(f"{WHEN_URL}?from=2099-01-01").status_code == 200


def test_a_video_patient_in_california_sees_pacific_times_too(client, clinician):
    to_the_times(client, state="CA", modality="telehealth")
    html = client.get(WHEN_URL).content.decode()
    day = first_full_day()
    assert '<option value="America/Los_Angeles" selected>Pacific time</option>' in html
    assert "Times are in New York time. Pacific time in brackets." in html
    # 9:00 New York is 6:00 Los Angeles, all year.
    assert ">9:00 AM (6:00 AM Pacific time)</label>" in html
    assert time_value(at(day, 9)) in radio_values(html)

    # Another zone from the short list; kept with the chosen time.
    html = client.get(f"{WHEN_URL}?zone=America/Chicago").content.decode()
    assert ">9:00 AM (8:00 AM Central time)</label>" in html
    client.post(WHEN_URL, {"time": time_value(at(day, 10)), "zone": "America/Chicago"})
    draft = BookingDraft.objects.get()
    assert draft.time_zone == "America/Chicago"
    check = client.get(CHECK_URL).content.decode()
    assert "10:00 AM New York time (9:00 AM Central time)" in check


def test_an_in_person_patient_sees_only_the_clinics_time(client, clinician):
    to_the_times(client, state="CA", modality="in_person")
    html = client.get(WHEN_URL).content.decode()
    assert "Pacific time)" not in html
    assert 'name="zone"' in html  # kept as a hidden value only
    assert '<select class="form-select" name="zone"' not in html
    assert ">9:00 AM</label>" in html


def test_the_chosen_time_is_kept_in_the_draft_and_shown_on_the_check_page(client, clinician):
    to_the_times(client)
    chosen = at(first_full_day(), 11)
    response = client.post(WHEN_URL, {"time": time_value(chosen), "zone": "America/New_York"})
    assert response.status_code == 302
    assert response["Location"] == CHECK_URL

    draft = BookingDraft.objects.get()
    assert draft.chosen_starts_at == chosen
    assert draft.chosen_kind == clinician.kinds.get()
    check = client.get(CHECK_URL).content.decode()
    day = first_full_day()
    assert f"{day.strftime('%A, %B')} {day.day}, 11:00 AM New York time" in check
    assert f'href="{WHEN_URL}?return=check"' in check

    # The page shows it chosen when the patient comes back to change it.
    html = client.get(f"{WHEN_URL}?return=check").content.decode()
    assert f'value="{time_value(chosen)}" class="open-times__input" id="id_time_' in html
    assert re.search(rf'value="{time_value(chosen)}"[^>]*checked', html)


def test_choosing_no_time_means_call_me(client, clinician):
    to_the_times(client)
    response = client.post(WHEN_URL, {"zone": "America/New_York"})
    assert response.status_code == 302
    assert BookingDraft.objects.get().chosen_starts_at is None
    assert "Call me to find a time" in client.get(CHECK_URL).content.decode()

    client.post(WHEN_URL, {"time": "call-me"})
    assert BookingDraft.objects.get().chosen_starts_at is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("<script>", "That is not one of the times we offered."),
        ("20261301T0900Z", "That is not one of the times we offered."),
        ("x" * 5000, "That is not one of the times we offered."),
        # A real instant, but not an open time: outside the hours, past the horizon, in the past.
        ("OUTSIDE_HOURS", "That time is no longer open."),
        ("BEYOND_HORIZON", "That time is no longer open."),
        ("20200106T1400Z", "That time is no longer open."),
    ],
)
def test_a_bad_time_gets_a_clear_message_never_an_error(client, clinician, value, message):
    to_the_times(client)
    value = {
        "OUTSIDE_HOURS": time_value(at(first_full_day(), 15)),
        "BEYOND_HORIZON": time_value(at(first_full_day() + datetime.timedelta(days=60), 9)),
    }.get(value, value)
    response = client.post(WHEN_URL, {"time": value, "zone": "Mars/Olympus"})
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert "<title>Error:" in html
    assert BookingDraft.objects.get().chosen_starts_at is None


def test_a_time_taken_since_the_page_was_shown_is_refused_on_the_page(client, clinician, kind):
    to_the_times(client)
    chosen = at(first_full_day(), 10)
    appointment_book(
        consultation_request=make_request(state="NY"),
        clinician=clinician,
        kind=kind,
        starts_at=chosen,
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
    )
    response = client.post(WHEN_URL, {"time": time_value(chosen)})
    assert response.status_code == 200
    assert "That time is no longer open." in response.content.decode()


def test_send_books_the_chosen_time_in_the_same_request(
    client, clinician, django_capture_on_commit_callbacks
):
    data = answers()
    to_the_times(client)
    chosen = at(first_full_day(), 9)
    client.post(WHEN_URL, {"time": time_value(chosen)})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CHECK_URL, send_data(data), follow=True)

    consultation_request = ConsultationRequest.objects.get()
    appointment = consultation_request.appointments.get()
    assert appointment.starts_at == chosen
    assert appointment.clinician == clinician
    assert appointment.modality == Appointment.Modality.TELEHEALTH
    assert appointment.status == Appointment.Status.BOOKED
    assert consultation_request.status == ConsultationRequest.Status.SCHEDULED
    assert not BookingDraft.objects.exists()

    html = response.content.decode()
    day = first_full_day()
    assert "Your consultation is booked" in html
    assert f"{day.strftime('%A, %B')} {day.day}, {day.year}, 9:00 AM–9:45 AM (New York time)" in html
    assert "Dr. Ana Reyes" in html

    render_pending()
    emails = {email.subject: email for email in OutboundEmail.objects.filter(to="maria@example.com")}
    acknowledgement = next(
        email for email in emails.values() if "Your consultation is booked for" in email.body
    )
    assert (
        f"{day.strftime('%A')} {day.day} {day.strftime('%B')}, 9:00 AM (New York time)"
        in acknowledgement.body
    )
    assert "The calendar invitation comes in a separate e-mail." in acknowledgement.body
    invitation = next(email for email in emails.values() if email.ics)
    assert "DTSTART" in invitation.ics and "BEGIN:VEVENT" in invitation.ics

    status = client.get(consultation_request.get_status_url()).content.decode()
    assert f"{day.strftime('%A, %B')} {day.day}, {day.year}, 9:00 AM–9:45 AM (New York time)" in status


def test_a_time_taken_before_send_returns_to_the_times_with_the_nearest_and_keeps_the_answers(
    client, clinician, kind
):
    data = answers()
    to_the_times(client)
    day = first_full_day()
    client.post(WHEN_URL, {"time": time_value(at(day, 10))})
    # Another patient books it between the check page and Send.
    appointment_book(
        consultation_request=make_request(state="NY"),
        clinician=clinician,
        kind=kind,
        starts_at=at(day, 10),
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
    )
    response = client.post(CHECK_URL, send_data(data))

    html = response.content.decode()
    assert response.status_code == 409
    assert "That time has just been taken" in html
    assert "The nearest open times" in html
    # 10:00 taken: 9:00, 11:00 and 12:00 the same day are nearest.
    assert radio_values(html) == [time_value(at(day, hour)) for hour in (9, 11, 12)] + ["call-me"]
    assert ConsultationRequest.objects.count() == 1  # the other patient's only
    draft = BookingDraft.objects.get()
    assert draft.chosen_starts_at is None
    assert draft.step_answers("contact")["last_name"] == "Okonkwo-Lindqvist"
    assert draft.step_answers("visit")["modality"] == "telehealth"

    # One of the nearest, then Send again: booked.
    response = client.post(WHEN_URL, {"time": time_value(at(day, 11))})
    assert response["Location"] == CHECK_URL
    client.post(CHECK_URL, {**send_data(data), "form_token": draft.form_token})
    booked = ConsultationRequest.objects.get(last_name="Okonkwo-Lindqvist").appointments.get()
    assert booked.starts_at == at(day, 11)


def test_an_urgent_request_books_its_time_and_stays_urgent(client, clinician):
    data = answers(self_harm_thoughts="yes")
    response = walk(client, data, stop_after="visit")
    assert response["Location"] == WHEN_URL
    client.post(WHEN_URL, {"time": time_value(at(first_full_day(), 12))})
    client.post(CHECK_URL, send_data(data))

    consultation_request = ConsultationRequest.objects.get()
    assert consultation_request.is_urgent
    assert consultation_request.appointments.get().starts_at == at(first_full_day(), 12)


def test_changing_in_person_or_video_clears_the_chosen_time(client, clinician):
    to_the_times(client)
    client.post(WHEN_URL, {"time": time_value(at(first_full_day(), 9))})
    response = client.post("/consultation/visit/?return=check", {"modality": "in_person"})
    assert response["Location"] == f"{WHEN_URL}?return=check"
    assert BookingDraft.objects.get().chosen_starts_at is None


def test_without_a_clinician_for_the_state_the_clinic_calls(client, clinician):
    response = walk(client, answers(state="NJ"), stop_after="visit")
    assert response["Location"] == CHECK_URL
    assert client.get(WHEN_URL)["Location"] == CHECK_URL
    assert "Call me to find a time" not in client.get(CHECK_URL).content.decode()


def test_the_times_are_not_asked_before_the_steps_before_them(client, clinician):
    assert client.get(WHEN_URL)["Location"] == "/consultation/you/"


def test_the_booking_still_needs_twelve_answers():
    from appointments.views.booking import ANSWERS_NEEDED

    assert ANSWERS_NEEDED == 12


@pytest.mark.parametrize("value", ["00010101T0000Z", "99991231T2359Z"])
def test_a_time_at_the_calendars_edge_is_refused_not_a_500(client, clinician, value):
    to_the_times(client)
    response = client.post(WHEN_URL, {"time": value, "zone": "America/New_York"})
    assert response.status_code == 200
    assert BookingDraft.objects.get().chosen_starts_at is None


def test_an_unfinished_urgent_request_the_clinic_booked_meanwhile_keeps_its_booking_on_send(
    client, clinician
):
    from appointments.services.drafts import booking_drafts_escalate_urgent

    to_the_times(client, self_harm_thoughts="yes")
    chosen = at(first_full_day(), 11)
    client.post(WHEN_URL, {"time": time_value(chosen), "zone": "America/New_York"})
    # The patient leaves; the draft reaches staff, who call and book another time by phone.
    BookingDraft.objects.update(updated_at=timezone.now() - datetime.timedelta(minutes=31))
    (unfinished,) = booking_drafts_escalate_urgent()
    appointment_book(
        consultation_request=unfinished,
        clinician=clinician,
        kind=clinician.kinds.get(),
        starts_at=at(first_full_day(), 10),
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
    )
    # The patient comes back and sends: no error, the clinic's booking stands, nothing doubled.
    response = client.post(CHECK_URL, send_data(answers()))
    assert response.status_code == 302
    saved = ConsultationRequest.objects.get()
    assert saved.is_unfinished is False
    assert [a.starts_at for a in saved.appointments.filter(status=Appointment.Status.BOOKED)] == [
        at(first_full_day(), 10)
    ]


def test_the_times_page_shows_what_the_database_holds_whoever_wrote_it(client, clinician, kind):
    """No writer has to remember to tell the times page: a time stored without the booking
    services, and hours changed by a plain update, are seen by the next page at once."""
    to_the_times(client)
    day = first_full_day()
    values = radio_values(client.get(WHEN_URL).content.decode())
    assert {time_value(at(day, hour)) for hour in (9, 10, 11, 12)} <= set(values)

    appointment = Appointment(
        consultation_request=make_request(state="NY"),
        clinician=clinician,
        kind=kind,
        starts_at=at(day, 10),
        duration_minutes=kind.duration_minutes,
        modality=Appointment.Modality.TELEHEALTH,
        telehealth_instructions="Join by the link.",
    )
    appointment.save()
    values = radio_values(client.get(WHEN_URL).content.decode())
    assert time_value(at(day, 10)) not in values
    assert time_value(at(day, 9)) in values

    clinician.weekly_hours.update(ends=datetime.time(12))
    values = radio_values(client.get(WHEN_URL).content.decode())
    assert time_value(at(day, 12)) not in values
    assert time_value(at(day, 11)) in values
