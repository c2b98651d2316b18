"""A front-desk morning in a real browser, at 390 and 1280 px: sign in with a second factor, find a
request, note a call, book the consultation, and the patient's invitation leaves with its .ics."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from icalendar import Calendar
from playwright.sync_api import expect

from appointments.emails import outbound_email_send_due
from appointments.models import Appointment, ConsultationRequest, OutboundEmail, StaffNote
from tests.appointments.conftest import SCREENING_MARKERS
from tests.factories import PASSWORD, make_request, make_staff

# The clinical answers; the front desk sees payment and how the patient found the clinic.
CLINICAL = ["concern_other", "treatments_other", "current_medications", "medical_history_other"]


@pytest.fixture
def front_desk(transactional_db):
    user = make_staff("front_desk", username="dana", first_name="Dana", last_name="Reyes")
    # django-two-factor asks for the token of the device named "default".
    device = TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    return user, device


@pytest.fixture
def queue(transactional_db):
    make_request(last_name="Haddad", email="haddad@example.com")
    make_request(last_name="Nakamura", is_urgent=True, self_harm_thoughts=True, flags=["self_harm"])
    return make_request(
        first_name="Maria",
        last_name="Okonkwo-Lindqvist",
        email="maria@example.com",
        phone="+12125550199",
        modality="telehealth",
        **SCREENING_MARKERS,
    )


def sign_in(page, live_server, front_desk):
    user, device = front_desk
    page.goto(live_server.url + "/admin/")
    expect(page).to_have_url(re.compile(r"/admin/account/login/"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("6-digit code").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Consultation requests", level=2)).to_be_visible()


def test_front_desk_finds_a_request_notes_a_call_and_books_the_consultation(
    page, live_server, front_desk, queue, assert_accessible, settings
):
    settings.TIME_ZONE = "America/New_York"
    sign_in(page, live_server, front_desk)

    page.get_by_role("link", name=re.compile("Consultation requests")).last.click()
    expect(page.get_by_role("heading", name="Consultation requests", level=1)).to_be_visible()
    assert_accessible(page)

    page.get_by_role("textbox", name="Search").fill("Okonkwo")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.get_by_role("link", name=queue.reference).click()

    expect(page.get_by_role("heading", name=re.compile(queue.reference))).to_be_visible()
    expect(page.get_by_text("maria@example.com")).to_be_visible()
    html = page.content()
    for name in CLINICAL:
        assert SCREENING_MARKERS[name] not in html
    assert_accessible(page)

    day = timezone.localdate() + datetime.timedelta(days=6)
    page.get_by_label("Add a note").fill("Called at 9:40; she prefers mornings.")
    page.get_by_role("combobox", name="Status").select_option(label="Contacted")
    page.get_by_label("Date:", exact=True).fill(day.isoformat())
    page.get_by_label(re.compile(r"^Time \(clinic time")).fill("10:30")
    page.get_by_label("Telehealth (video call)").check()
    page.get_by_label("Telehealth instructions").fill(
        "Join at https://video.clinic.example/r/7 five minutes early."
    )
    page.get_by_role("button", name="Save and continue editing").first.click()

    expect(page.locator(".messagelist")).to_contain_text(
        f"Booked {day:%b} {day.day}, {day.year}, 10:30 E"  # EST or EDT
    )
    expect(page.locator(".messagelist")).to_contain_text("The patient was e-mailed a calendar invitation.")
    expect(page.locator(".note-thread")).to_contain_text("Called at 9:40; she prefers mornings.")
    expect(page.locator(".note-thread")).to_contain_text("Dana Reyes")
    expect(page.get_by_role("combobox", name="Status")).to_have_value("scheduled")

    queue.refresh_from_db()
    assert queue.status == ConsultationRequest.Status.SCHEDULED
    assert StaffNote.objects.get(consultation_request=queue).author == front_desk[0]
    appointment = Appointment.objects.get(consultation_request=queue)
    # Entered as the clinic's 10:30; stored as the same instant in UTC.
    expected = datetime.datetime.combine(day, datetime.time(10, 30), tzinfo=ZoneInfo("America/New_York"))
    assert appointment.starts_at == expected

    # The mail worker delivers the queued invitation (pytest-django's locmem backend).
    mail.outbox.clear()
    outbound_email_send_due()
    (invitation,) = [message for message in mail.outbox if message.to == ["maria@example.com"]]
    assert "Your consultation is booked" in invitation.subject
    (filename, content, mimetype) = invitation.attachments[0]
    assert (filename, mimetype) == ("invitation.ics", "text/calendar")
    calendar = Calendar.from_ical(content)
    (event,) = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "REQUEST"
    assert event["UID"] == appointment.uid and int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == appointment.starts_at
    assert event.decoded("DTSTART").utcoffset() == datetime.timedelta(0)
    everything = invitation.subject + invitation.body + content
    for marker in SCREENING_MARKERS.values():
        assert marker not in everything
    assert OutboundEmail.objects.filter(dedupe_key__startswith="appointment:", status="sent").count() == 1


def test_the_dashboard_leads_to_the_urgent_requests(
    phone_page, live_server, front_desk, queue, assert_accessible
):
    sign_in(phone_page, live_server, front_desk)
    assert_accessible(phone_page)
    phone_page.get_by_role("link", name=re.compile("urgent, still open")).click()
    rows = phone_page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Urgent")
