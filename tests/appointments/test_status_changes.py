"""The patient's status page with a booked consultation: moving it and cancelling it from the signed link."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from appointments.models import Appointment, AuditEvent, ConsultationRequest, OutboundEmail
from appointments.services import Source, appointment_book
from appointments.services.reminders import appointment_reminder_enqueue, appointment_reminders_enqueue_due
from tests.factories import make_request
from tests.outbox import render_pending

from .conftest import SCREENING_MARKERS

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
MONDAY = 0
PHONE = "(555) 010-0100"


def main_content(response):
    html = response.content.decode()
    return html[html.index('<main id="main"') : html.index("</main>")]


def a_monday_weeks_ahead():
    """A Monday at least two weeks away, far from any cut-off or minimum notice."""
    day = timezone.localdate() + datetime.timedelta(days=14)
    return day + datetime.timedelta(days=(MONDAY - day.weekday()) % 7)


def at(day, hour):
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=NEW_YORK)


def value(moment):
    return moment.astimezone(datetime.UTC).strftime("%Y%m%dT%H%MZ")


@pytest.fixture(autouse=True)
def _clinic_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"


@pytest.fixture
def monday():
    return a_monday_weeks_ahead()


@pytest.fixture
def appointment(kind, clinician, monday):
    screening = {name: value for name, value in SCREENING_MARKERS.items() if name != "concern_other"}
    consultation_request = make_request(
        state="NY", email="maria@example.com", first_name="Maria", **screening
    )
    return appointment_book(
        consultation_request=consultation_request,
        clinician=clinician,
        kind=kind,
        starts_at=at(monday, 10),
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
    )


def urls(appointment):
    status = appointment.consultation_request.get_status_url()
    return status, status + "reschedule/", status + "cancel/"


def test_the_status_page_shows_the_booked_time_in_the_named_zone_with_whom_and_how(
    client, appointment, monday
):
    status, reschedule, cancel = urls(appointment)
    response = client.get(status)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = main_content(response)
    assert f"{monday:%A, %B} {monday.day}, {monday.year}, 10:00 AM–10:45 AM (New York time)" in html
    assert "Dr. Ana Reyes" in html
    assert "First consultation" in html
    assert "By video" in html
    assert "https://video.clinic.example/room-7" in html
    assert f'href="{reschedule}"' in html and f'href="{cancel}"' in html
    # With a consultation booked, cancelling goes through its own page.
    assert "Cancel my request" not in html
    assert "Maria" not in html
    for marker in SCREENING_MARKERS.values():
        assert marker not in html


def test_the_patient_moves_the_consultation_after_confirming_it(
    client, appointment, monday, django_capture_on_commit_callbacks
):
    status, reschedule, _cancel = urls(appointment)
    response = client.get(reschedule, {"from": monday.isoformat()})
    html = main_content(response)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert f"{monday:%A, %B} {monday.day}" in html
    assert "Times are in New York time." in html
    # The other open times of the day; not the one already booked.
    for hour, label in [(9, "9:00 AM"), (11, "11:00 AM"), (12, "12:00 PM")]:
        assert f'value="{value(at(monday, hour))}"' in html
        assert label in html
    assert value(at(monday, 10)) not in html

    response = client.post(
        reschedule, {"from": monday.isoformat(), "step": "choose", "time": value(at(monday, 12))}
    )
    html = main_content(response)
    assert response.status_code == 200
    assert "Confirm the new time" in html
    assert (
        f"{monday:%A, %B} {monday.day}, {monday.year}, 12:00 PM–12:45 PM (New York time), with Dr. Ana Reyes"
        in html
    )
    appointment.refresh_from_db()
    assert appointment.starts_at == at(monday, 10), "nothing moves before the patient confirms"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reschedule,
            {"from": monday.isoformat(), "step": "confirm", "time": value(at(monday, 12)), "reason": "time"},
        )
    assert response.status_code == 302 and response["Location"] == f"{status}?done=moved"
    appointment.refresh_from_db()
    assert (appointment.starts_at, appointment.sequence, appointment.status) == (at(monday, 12), 1, "booked")
    assert Appointment.objects.count() == 1

    html = main_content(client.get(response["Location"]))
    assert "Your consultation has been moved." in html
    assert "12:00 PM–12:45 PM (New York time)" in html

    update = OutboundEmail.objects.get(dedupe_key=f"appointment:{appointment.uid}:1")
    assert update.to == "maria@example.com" and "METHOD:REQUEST" in update.ics and "SEQUENCE:1" in update.ics
    render_pending()
    staff = OutboundEmail.objects.get(dedupe_key=f"appointment:{appointment.uid}:1:staff-moved")
    assert staff.to == "frontdesk@clinic.example"
    assert appointment.consultation_request.reference in staff.subject
    for email in [update, staff]:
        for marker in SCREENING_MARKERS.values():
            assert marker not in email.subject + email.body + email.ics
    assert "Maria" not in staff.subject + staff.body

    events = list(
        AuditEvent.objects.filter(
            consultation_request=appointment.consultation_request, actor_label="patient"
        )
        .order_by("pk")
        .values_list("description", flat=True)
    )
    assert events[-2].startswith("Moved the consultation from ") and "with Dr. Ana Reyes" in events[-2]
    assert events[-1] == "Reason the patient gave: The time no longer suits me"


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ("not-a-time", "That is not one of the times we offered."),
        ("20260601T1400Z\x00", "That is not one of the times we offered."),
        ("", "Choose one of the times."),
    ],
)
def test_a_tampered_or_missing_time_is_refused_with_a_message(client, appointment, monday, posted, message):
    _status, reschedule, _cancel = urls(appointment)
    for step in ["choose", "confirm"]:
        response = client.post(reschedule, {"from": monday.isoformat(), "step": step, "time": posted})
        assert response.status_code == 200
        html = main_content(response)
        assert message in html
        # Fresh times to choose from.
        assert f'value="{value(at(monday, 11))}"' in html
    appointment.refresh_from_db()
    assert (appointment.starts_at, appointment.sequence) == (at(monday, 10), 0)


def test_a_time_that_is_not_open_or_is_gone_is_refused_with_fresh_times(
    client, appointment, monday, kind, clinician
):
    _status, reschedule, _cancel = urls(appointment)
    never_open = value(at(monday, 3))
    response = client.post(reschedule, {"from": monday.isoformat(), "step": "confirm", "time": never_open})
    assert "That time is no longer open." in main_content(response)

    # Someone else books 11:00 between the patient's choosing and confirming it.
    appointment_book(
        consultation_request=make_request(state="NY"),
        clinician=clinician,
        kind=kind,
        starts_at=at(monday, 11),
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
    )
    response = client.post(
        reschedule, {"from": monday.isoformat(), "step": "confirm", "time": value(at(monday, 11))}
    )
    html = main_content(response)
    assert response.status_code == 200
    assert "That time is no longer open." in html
    assert f'value="{value(at(monday, 11))}"' not in html
    assert f'value="{value(at(monday, 12))}"' in html
    appointment.refresh_from_db()
    assert appointment.starts_at == at(monday, 10)


def test_a_race_lost_at_the_last_moment_says_so_and_offers_fresh_times(
    client, appointment, monday, kind, clinician, monkeypatch
):
    """The page's check passed with the times it read; the service then finds the time taken."""
    from appointments.views import status as status_views

    stale = status_views.patient_open_slots(
        appointment=appointment, now=timezone.now(), first_day=monday, days=7
    )
    appointment_book(
        consultation_request=make_request(state="NY"),
        clinician=clinician,
        kind=kind,
        starts_at=at(monday, 11),
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
    )
    calls = iter([stale])
    original = status_views.patient_open_slots
    monkeypatch.setattr(status_views, "patient_open_slots", lambda **kw: next(calls, None) or original(**kw))
    _status, reschedule, _cancel = urls(appointment)
    response = client.post(
        reschedule, {"from": monday.isoformat(), "step": "confirm", "time": value(at(monday, 11))}
    )
    html = main_content(response)
    assert response.status_code == 200
    assert "That time has just been taken. Please choose another of the open times below." in html
    assert f'value="{value(at(monday, 11))}"' not in html
    assert f'value="{value(at(monday, 9))}"' in html
    appointment.refresh_from_db()
    assert appointment.starts_at == at(monday, 10)


def test_later_dates_page_through_the_horizon(client, appointment, monday):
    _status, reschedule, _cancel = urls(appointment)
    html = main_content(client.get(reschedule, {"from": monday.isoformat()}))
    later = monday + datetime.timedelta(days=7)
    assert f"?from={later.isoformat()}" in html and "Later dates" in html
    assert "Earlier dates" in html
    html = main_content(client.get(reschedule, {"from": later.isoformat()}))
    assert f'value="{value(at(later, 9))}"' in html
    # A nonsense page start falls back to the first bookable day.
    assert client.get(reschedule, {"from": "yesterday"}).status_code == 200


def test_the_patient_cancels_and_asks_to_be_called(client, appointment, django_capture_on_commit_callbacks):
    status, _reschedule, cancel = urls(appointment)
    html = main_content(client.get(cancel))
    assert "Cancel your consultation" in html and "Call me to find another time" in html
    assert Appointment.objects.get().status == "booked"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(cancel, {"next_step": "call_me", "reason": ""})
    assert response.status_code == 302 and response["Location"] == f"{status}?done=cancelled"
    appointment.refresh_from_db()
    assert (appointment.status, appointment.sequence) == ("cancelled", 1)
    consultation_request = ConsultationRequest.objects.get()
    assert consultation_request.status == ConsultationRequest.Status.CONTACTED
    html = main_content(client.get(response["Location"]))
    assert "Your consultation has been cancelled." in html
    assert "Choose another time" not in html

    cancellation = OutboundEmail.objects.get(dedupe_key=f"appointment:{appointment.uid}:1")
    assert "METHOD:CANCEL" in cancellation.ics
    assert OutboundEmail.objects.filter(
        dedupe_key=f"appointment:{appointment.uid}:1:staff-cancelled"
    ).exists()
    described = AuditEvent.objects.filter(actor_label="patient").values_list("description", flat=True)
    assert any(text.startswith("Cancelled the consultation of ") for text in described)


def test_the_patient_cancels_and_withdraws_the_request(
    client, appointment, django_capture_on_commit_callbacks
):
    _status, _reschedule, cancel = urls(appointment)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(cancel, {"next_step": "withdraw", "reason": "arrangements"})
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert ConsultationRequest.objects.get().status == ConsultationRequest.Status.CANCELLED_BY_PATIENT
    assert OutboundEmail.objects.filter(dedupe_key__endswith="cancelled-by-patient").exists()
    assert AuditEvent.objects.filter(
        actor_label="patient", description="Reason the patient gave: I have made other arrangements"
    ).exists()


def test_cancelling_without_a_choice_or_with_a_made_up_one_asks_again(client, appointment):
    _status, _reschedule, cancel = urls(appointment)
    for data in [{}, {"next_step": "drop-table"}, {"next_step": "call_me", "reason": "<script>"}]:
        response = client.post(cancel, data)
        assert response.status_code == 200
    assert Appointment.objects.get().status == "booked"


def test_after_the_cut_off_the_patient_is_asked_to_call(client, appointment, settings):
    settings.APPOINTMENT_PATIENT_CHANGE_CUTOFF_HOURS = 24 * 400
    status, reschedule, cancel = urls(appointment)
    too_late = f"so it can no longer be changed online. Please call us at {PHONE}."
    html = main_content(client.get(status))
    assert too_late in html
    assert "Choose another time" not in html
    for url in [reschedule, cancel]:
        assert too_late in main_content(client.get(url))
    assert too_late in main_content(
        client.post(
            reschedule,
            {"step": "confirm", "time": value(appointment.starts_at + datetime.timedelta(hours=1))},
        )
    )
    assert too_late in main_content(client.post(cancel, {"next_step": "call_me"}))
    # Nor does cancelling the whole request cancel the consultation behind the cut-off.
    assert "too close to cancel online" in main_content(client.post(status))
    appointment.refresh_from_db()
    assert (appointment.status, appointment.sequence) == ("booked", 0)
    assert ConsultationRequest.objects.get().status == ConsultationRequest.Status.SCHEDULED


def test_without_a_booked_consultation_the_change_pages_lead_back_to_the_status_page(client):
    consultation_request = make_request()
    status = consultation_request.get_status_url()
    for url in [status + "reschedule/", status + "cancel/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == status


def test_changes_need_the_signed_link_and_csrf(client, appointment, monday):
    _status, reschedule, cancel = urls(appointment)
    forged = reschedule.replace("/status/", "/status/x")
    assert client.get(forged).status_code == 404
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(cancel, {"next_step": "call_me"}).status_code == 403
    data = {"from": monday.isoformat(), "step": "confirm", "time": value(at(monday, 12))}
    assert strict.post(reschedule, data).status_code == 403
    appointment.refresh_from_db()
    assert (appointment.status, appointment.starts_at) == ("booked", at(monday, 10))


def test_no_reminder_goes_out_for_the_old_time_or_after_cancelling(
    client, appointment, monday, django_capture_on_commit_callbacks
):
    _status, reschedule, cancel = urls(appointment)
    # A reminder for the booked time already waits in the outbox.
    appointment_reminder_enqueue(appointment=appointment, hours=24)
    assert OutboundEmail.objects.filter(dedupe_key__startswith="reminder:", status="pending").count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reschedule, {"from": monday.isoformat(), "step": "confirm", "time": value(at(monday, 12))}
        )
    assert not OutboundEmail.objects.filter(dedupe_key__startswith="reminder:").exists()
    # The day before the old time (25 hours before the new one) nothing is due; on the morning, the
    # reminder that goes out is for the new time.
    assert (
        appointment_reminders_enqueue_due(now=at(monday, 10) - datetime.timedelta(hours=23), hours=[24, 2])
        == 0
    )
    assert appointment_reminders_enqueue_due(now=at(monday, 9), hours=[24, 2]) == 1
    (reminder,) = OutboundEmail.objects.filter(dedupe_key__startswith="reminder:")
    assert reminder.dedupe_key == f"reminder:{appointment.uid}:1:24h"
    assert "12:00 PM" in reminder.body and "10:00 AM" not in reminder.body

    with django_capture_on_commit_callbacks(execute=True):
        client.post(cancel, {"next_step": "call_me"})
    assert not OutboundEmail.objects.filter(dedupe_key__startswith="reminder:", status="pending").exists()
    assert appointment_reminders_enqueue_due(now=at(monday, 11), hours=[24, 2]) == 0
    assert (
        appointment_reminders_enqueue_due(now=at(monday, 12) - datetime.timedelta(hours=23), hours=[24, 2])
        == 0
    )


def test_the_change_pages_are_valid_html(client, appointment, monday, tmp_path):
    from tests.test_html_validity import validate

    status, reschedule, cancel = urls(appointment)
    documents = {"__folder__": tmp_path}
    documents["status_booked"] = client.get(status).content.decode()
    documents["reschedule"] = client.get(reschedule, {"from": monday.isoformat()}).content.decode()
    documents["reschedule_error"] = client.post(
        reschedule, {"from": monday.isoformat(), "step": "choose", "time": "bad"}
    ).content.decode()
    documents["reschedule_confirm"] = client.post(
        reschedule, {"from": monday.isoformat(), "step": "choose", "time": value(at(monday, 12))}
    ).content.decode()
    documents["cancel"] = client.get(cancel).content.decode()
    documents["cancel_error"] = client.post(cancel, {}).content.decode()
    assert validate(documents) == {}
