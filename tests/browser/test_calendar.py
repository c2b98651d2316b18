"""The clinicians' calendar and hours in a real browser, at 390 and 1280 px."""

import datetime
import os
import re
from pathlib import Path

import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from appointments.models import Appointment, AvailabilityException, Clinician, WeeklyHours
from appointments.services import Source, appointment_book
from tests.factories import PASSWORD, make_clinician, make_kind, make_request, make_staff


def next_monday():
    today = timezone.localdate()
    return today + datetime.timedelta(days=7 - today.weekday())


def sign_in(page, live_server, user):
    device = TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    page.goto(live_server.url + "/admin/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("6-digit code").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Staff workspace")).to_be_visible()


@pytest.fixture
def booked_week(transactional_db, settings):
    settings.TIME_ZONE = "America/New_York"
    kind = make_kind(
        name="First consultation", duration_minutes=45, interval_minutes=60, buffer_after_minutes=15
    )
    user = make_staff("clinician", username="reyes", first_name="Ana", last_name="Reyes")
    reyes = Clinician.objects.create(user=user, display_name="Dr. Ana Reyes", licensed_states=["NY"])
    reyes.kinds.set([kind])
    WeeklyHours.objects.bulk_create(
        WeeklyHours(clinician=reyes, weekday=day, starts=datetime.time(9), ends=datetime.time(13))
        for day in range(5)
    )
    make_clinician(
        kinds=[kind], display_name="Dr. Ben Osei", hours=[(day, "12:00", "16:00") for day in range(5)]
    )
    monday = next_monday()
    appointment = appointment_book(
        consultation_request=make_request(state="NY", first_name="Maria", last_name="Okonkwo"),
        clinician=reyes,
        kind=kind,
        starts_at=datetime.datetime.combine(
            monday, datetime.time(10), tzinfo=timezone.get_default_timezone()
        ),
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
    )
    return reyes, appointment, monday


def test_the_front_desk_finds_a_booking_on_the_week_calendar(
    page, live_server, booked_week, assert_accessible
):
    _reyes, appointment, monday = booked_week
    sign_in(page, live_server, make_staff("front_desk", username="dana"))

    page.goto(f"{live_server.url}/admin/appointments/clinician/")
    page.get_by_role("link", name="Calendar").click()
    expect(page.get_by_role("heading", name="Calendar: the whole clinic")).to_be_visible()
    page.get_by_label("From").fill(monday.isoformat())
    page.get_by_role("button", name="Show", exact=True).click()

    day = page.get_by_role("region", name=re.compile(monday.strftime("%A")))
    booking = day.locator(".calendar-booked")
    expect(booking).to_contain_text(appointment.consultation_request.reference)
    expect(booking).to_contain_text("Maria Okonkwo")
    expect(booking).to_contain_text("10:00–10:45")
    expect(day.locator(".calendar-free").first).to_contain_text("09:00–10:00")
    assert_accessible(page)

    page.get_by_label("Clinician").select_option(label="Dr. Ana Reyes")
    page.get_by_label("Show", exact=True).select_option(label="One day")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.get_by_role("heading", name="Calendar: Dr. Ana Reyes")).to_be_visible()
    expect(page.locator(".calendar-booked")).to_have_count(1)
    assert_accessible(page)


def test_a_clinician_takes_a_day_off_and_is_shown_the_booking_to_move(
    page, live_server, booked_week, assert_accessible
):
    reyes, appointment, monday = booked_week
    sign_in(page, live_server, reyes.user)

    page.goto(f"{live_server.url}/admin/appointments/clinician/{reyes.pk}/change/")
    expect(page.get_by_role("heading", name="Calendar feed")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Add another time off or extra hours").click()
    page.locator("#id_exceptions-0-date").fill(monday.isoformat())
    page.get_by_role("button", name="Save and continue editing").click()

    expect(page.locator(".messagelist")).to_contain_text(
        f"1 booked appointment is now outside Dr. Ana Reyes's working time: {appointment.consultation_request.reference}"
    )
    expect(page.locator(".clinic-conflicts")).to_contain_text(appointment.consultation_request.reference)
    assert AvailabilityException.objects.filter(clinician=reyes, date=monday).exists()


SHOTS = os.environ.get("SCREENSHOT_DIR", "")


def shoot(page, name):
    """Screenshots for a person to look at, when SCREENSHOT_DIR is set."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{page.viewport_size['width']}-{name}.png", full_page=True)


def test_the_front_desk_moves_a_booking_that_time_off_left_outside_working_time(
    page, live_server, booked_week, assert_accessible
):
    reyes, appointment, monday = booked_week
    reference = appointment.consultation_request.reference
    AvailabilityException.objects.create(clinician=reyes, date=monday, note="Conference")
    sign_in(page, live_server, make_staff("front_desk", username="dana"))

    notice = page.locator(".clinic-conflicts")
    expect(notice).to_contain_text("1 booked appointment is outside its clinician's working time")
    shoot(page, "dashboard-conflicts")
    notice.get_by_role("link", name="See and move them").click()
    expect(page.get_by_role("heading", name="Appointments outside working time")).to_be_visible()
    row = page.get_by_role("row", name=re.compile(reference))
    expect(row).to_contain_text("Dr. Ana Reyes")
    expect(row).to_contain_text(f"{monday:%a} {monday.day} {monday:%b %Y}, 10:00 AM")
    assert_accessible(page)
    shoot(page, "conflicts")

    page.get_by_role("link", name=f"Move {reference}").click()
    panel = page.locator(".open-times-panel")
    expect(panel.get_by_role("heading", name="Move the booked consultation")).to_be_visible()
    expect(panel.get_by_label("The clinician is not available then")).to_be_checked()
    monday_times = panel.locator(".open-times-panel__day", has_text=f"{monday:%A, %B} {monday.day}")
    # Dr. Reyes is off that day: only Dr. Osei's afternoon is offered.
    expect(monday_times.get_by_role("button")).to_have_text(
        [
            "12:00 PM · Dr. Ben Osei",
            "1:00 PM · Dr. Ben Osei",
            "2:00 PM · Dr. Ben Osei",
            "3:00 PM · Dr. Ben Osei",
        ]
    )
    assert_accessible(page)
    shoot(page, "move-panel")

    monday_times.get_by_role("button", name="1:00 PM · Dr. Ben Osei").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "with Dr. Ben Osei. The patient was e-mailed the updated invitation, with the reason."
    )
    shoot(page, "moved")
    appointment.refresh_from_db()
    assert appointment.clinician.display_name == "Dr. Ben Osei"
    assert timezone.localtime(appointment.starts_at).time() == datetime.time(13)
    assert appointment.sequence == 1

    page.goto(f"{live_server.url}/admin/appointments/clinician/conflicts/")
    expect(
        page.get_by_text("Every booked appointment is inside its clinician's working time.")
    ).to_be_visible()
    page.goto(f"{live_server.url}/admin/")
    expect(page.locator(".clinic-conflicts")).to_have_count(0)


def test_a_clinic_admin_books_an_evening_call_outside_hours_with_the_tick_box(
    page, live_server, booked_week, assert_accessible
):
    reyes, _appointment, monday = booked_week
    consultation_request = make_request(state="NY", modality="telehealth", first_name="Lena")
    sign_in(page, live_server, make_staff("clinic_admin", username="alex"))

    page.goto(f"{live_server.url}/admin/appointments/consultationrequest/{consultation_request.pk}/change/")
    form = page.get_by_role("group", name="Book the consultation")
    form.get_by_label("Date:", exact=True).fill(monday.isoformat())
    form.get_by_label(re.compile(r"^Time \(clinic time")).fill("18:00")
    form.get_by_label("Telehealth (video call)").check()
    form.get_by_label("Telehealth instructions").fill("Join at https://video.clinic.example/r/7")
    form.get_by_label("Clinician:").select_option(label="Dr. Ana Reyes")
    page.get_by_role("button", name="Save and continue editing").first.click()
    expect(page.locator(".errornote, .errorlist").first).to_be_visible()
    expect(page.get_by_text("That time is outside Dr. Ana Reyes's working hours.")).to_be_visible()
    assert not Appointment.objects.filter(consultation_request=consultation_request).exists()

    page.get_by_label("Book outside this clinician's hours").check()
    shoot(page, "override")
    page.get_by_role("button", name="Save and continue editing").first.click()
    expect(page.locator(".messagelist")).to_contain_text(
        "with Dr. Ana Reyes. The patient was e-mailed a calendar invitation."
    )
    assert_accessible(page)
    booked = Appointment.objects.get(consultation_request=consultation_request)
    assert (booked.clinician, booked.outside_hours_approved) == (reyes, True)
    assert timezone.localtime(booked.starts_at).time() == datetime.time(18)
