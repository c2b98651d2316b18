"""Choosing an open time while booking, in a real browser at 390 and 1280 px: the time is seen on the
check, confirmation and status pages; a time taken meanwhile brings the nearest ones; axe on each."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment, ConsultationRequest
from appointments.services import Source, appointment_book
from tests.factories import make_clinician, make_kind, make_request

from .test_booking import RECEIVED, contact, go_on, safety, send, shot, start, step_heading, where

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def schedule(settings):
    settings.TIME_ZONE = "America/New_York"
    kind = make_kind(
        name="First consultation",
        duration_minutes=45,
        interval_minutes=60,
        minimum_notice_minutes=2 * 24 * 60,
        horizon_days=30,
    )
    clinician = make_clinician(
        kinds=[kind],
        states=["NY"],
        hours=[(day, "09:00", "13:00") for day in range(7)],
        display_name="Dr. Ana Reyes",
        telehealth_instructions="Join at https://video.clinic.example/room-7",
    )
    zone = timezone.get_default_timezone()
    day = (timezone.now() + datetime.timedelta(days=3)).astimezone(zone).date()
    return kind, clinician, day


def at(day, hour):
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=timezone.get_default_timezone())


def to_the_times(page, live_server):
    start(page, live_server)
    contact(page)
    go_on(page)
    safety(page, "No")
    go_on(page)
    where(page)
    go_on(page)
    step_heading(page, "Your consultation", 4)
    expect(page.get_by_text("On the next page you can choose one of our open times")).to_be_visible()
    page.get_by_label("Telehealth (video call)").check()
    go_on(page)
    step_heading(page, "Choose a time", 4)


def day_group(page, day):
    return page.get_by_role("group", name=f"{day:%A, %B} {day.day}")


def no_sideways_scrolling(page):
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_a_patient_picks_a_time_and_sees_it_booked(page, live_server, schedule, assert_accessible):
    _kind, _clinician, day = schedule
    to_the_times(page, live_server)
    expect(page.get_by_text("Times are in New York time.")).to_be_visible()
    no_sideways_scrolling(page)
    shot(page, "4b-when")
    assert_accessible(page)

    # A week on, and back: the pages work without JavaScript, as links.
    page.get_by_role("link", name="Later dates").click()
    step_heading(page, "Choose a time", 4)
    page.get_by_role("link", name="Earlier dates").click()
    day_group(page, day).get_by_label("11:00 AM").check()
    go_on(page)

    expect(page.get_by_role("heading", name="Check your answers", level=1)).to_be_visible()
    when = f"{day:%A, %B} {day.day}, 11:00 AM New York time"
    expect(page.locator(".check-answers")).to_contain_text(when)
    shot(page, "5-check-with-time")
    assert_accessible(page)
    page.get_by_role("link", name="Change when").click()
    expect(day_group(page, day).get_by_label("11:00 AM")).to_be_checked()
    go_on(page)
    send(page)

    page.wait_for_url(RECEIVED)
    booked = f"{day:%A, %B} {day.day}, {day.year}, 11:00 AM–11:45 AM (New York time)"
    expect(page.get_by_role("heading", name="Your consultation is booked")).to_be_visible()
    expect(page.locator(".request-status__facts")).to_contain_text(booked)
    expect(page.locator(".request-status__facts")).to_contain_text("Dr. Ana Reyes")
    no_sideways_scrolling(page)
    shot(page, "6-received-booked")
    assert_accessible(page)

    consultation_request = ConsultationRequest.objects.get()
    assert consultation_request.appointments.get().starts_at == at(day, 11)
    page.goto(live_server.url + consultation_request.get_status_url())
    expect(page.locator(".request-status__facts").last).to_contain_text(booked)
    shot(page, "7-status-booked")


def test_a_time_gone_and_a_time_taken_bring_clear_messages(page, live_server, schedule, assert_accessible):
    kind, clinician, day = schedule
    to_the_times(page, live_server)
    day_group(page, day).get_by_label("10:00 AM").check()

    def book_it_for_someone_else(hour):
        appointment_book(
            consultation_request=make_request(state="NY"),
            clinician=clinician,
            kind=kind,
            starts_at=at(day, hour),
            modality=Appointment.Modality.TELEHEALTH,
            source=Source.PATIENT,
        )

    # Gone while the page was open.
    book_it_for_someone_else(10)
    go_on(page)
    expect(page).to_have_title(re.compile("^Error: Choose a time"))
    expect(page.locator(".error-summary")).to_contain_text("That time is no longer open.")
    shot(page, "4b-when-gone")
    assert_accessible(page)

    # Taken between the check page and Send.
    day_group(page, day).get_by_label("11:00 AM").check()
    go_on(page)
    book_it_for_someone_else(11)
    send(page)
    expect(page.locator(".error-summary")).to_contain_text("That time has just been taken")
    expect(page.get_by_role("group", name="The nearest open times")).to_be_visible()
    no_sideways_scrolling(page)
    shot(page, "4b-when-taken")
    assert_accessible(page)
    day_group(page, day).get_by_label("12:00 PM").check()
    go_on(page)
    expect(page.locator(".check-answers")).to_contain_text("Okonkwo")
    send(page)
    page.wait_for_url(RECEIVED)
    expect(page.locator(".request-status__facts")).to_contain_text("12:00 PM–12:45 PM")
