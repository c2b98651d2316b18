"""The patient moves, then cancels, their consultation from the status link, at 390 and 1280 px."""

import datetime
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from appointments.models import Appointment, ConsultationRequest
from appointments.services import Source, appointment_book
from tests.factories import make_clinician, make_kind, make_request

pytestmark = pytest.mark.django_db(transaction=True)

MONDAY = 0
SHOTS = os.environ.get("SCREENSHOT_DIR", "")


def shoot(page, name):
    """Screenshots for a person to look at, when SCREENSHOT_DIR is set."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        width = page.viewport_size["width"]
        page.screenshot(path=f"{SHOTS}/{width}-{name}.png", full_page=True)


def no_sideways_scrolling(page):
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


@pytest.fixture
def appointment(settings):
    settings.TIME_ZONE = "America/New_York"
    from django.utils import timezone

    kind = make_kind(name="First consultation", duration_minutes=45, interval_minutes=60)
    clinician = make_clinician(
        kinds=[kind],
        states=["NY"],
        hours=[(day, "09:00", "13:00") for day in range(7)],
        display_name="Dr. Ana Reyes",
        credentials="MD",
        telehealth_instructions="Join at https://video.clinic.example/room-7",
    )
    day = timezone.localdate() + datetime.timedelta(days=14)
    day += datetime.timedelta(days=(MONDAY - day.weekday()) % 7)
    starts_at = datetime.datetime.combine(day, datetime.time(10), tzinfo=timezone.get_default_timezone())
    return appointment_book(
        consultation_request=make_request(state="NY"),
        clinician=clinician,
        kind=kind,
        starts_at=starts_at,
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
    )


def test_the_patient_moves_then_cancels_the_consultation(page, live_server, appointment, assert_accessible):
    status_url = live_server.url + appointment.consultation_request.get_status_url()
    page.goto(status_url)
    main = page.locator("main")
    expect(main.get_by_role("heading", name="Your consultation", exact=True)).to_be_visible()
    expect(main.get_by_text("10:00 AM–10:45 AM (New York time)")).to_be_visible()
    expect(main.get_by_text("Dr. Ana Reyes, MD")).to_be_visible()
    expect(main.get_by_text("By video")).to_be_visible()
    no_sideways_scrolling(page)
    assert_accessible(page)
    shoot(page, "1-status")

    main.get_by_role("link", name="Choose another time").click()
    expect(main.get_by_role("heading", name="Choose another time")).to_be_visible()
    expect(main.get_by_text("Times are in New York time.")).to_be_visible()
    no_sideways_scrolling(page)
    assert_accessible(page)
    shoot(page, "2-times")

    # Continuing without a choice asks for one.
    main.get_by_role("button", name="Continue").click()
    expect(main.get_by_role("alert")).to_have_text("Choose one of the times.")
    assert_accessible(page)

    # A time more than a day ahead, so that it can still be cancelled online afterwards.
    day_after = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=25)).strftime("%Y%m%dT%H%MZ")
    values = main.locator('input[name="time"]').evaluate_all("inputs => inputs.map(i => i.value)")
    chosen = next(value for value in values if value > day_after)
    main.locator(f'label[for="{main.locator(f"input[value={chosen!r}]").get_attribute("id")}"]').click()
    main.get_by_role("button", name="Continue").click()
    expect(main.get_by_role("heading", name="Confirm the new time")).to_be_visible()
    expect(main.get_by_text("with Dr. Ana Reyes")).to_be_visible()
    no_sideways_scrolling(page)
    assert_accessible(page)
    shoot(page, "3-confirm")
    main.get_by_label("Why are you changing it? (optional)").select_option("time")
    main.get_by_role("button", name="Yes, move my consultation").click()

    expect(main.get_by_role("status")).to_contain_text("Your consultation has been moved.")
    appointment.refresh_from_db()
    assert appointment.starts_at == datetime.datetime.strptime(chosen, "%Y%m%dT%H%MZ").replace(
        tzinfo=datetime.UTC
    )
    assert appointment.sequence == 1
    shoot(page, "4-moved")

    main.get_by_role("link", name="Cancel the consultation").click()
    expect(main.get_by_role("heading", name="Cancel your consultation")).to_be_visible()
    expect(main.get_by_label("Call me to find another time")).to_be_checked()
    no_sideways_scrolling(page)
    assert_accessible(page)
    shoot(page, "5-cancel")
    main.get_by_role("button", name="Yes, cancel my consultation").click()

    expect(main.get_by_role("status")).to_contain_text("Your consultation has been cancelled.")
    expect(main.get_by_role("link", name="Choose another time")).to_have_count(0)
    assert_accessible(page)
    shoot(page, "6-cancelled")
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert ConsultationRequest.objects.get().status == ConsultationRequest.Status.CONTACTED


def test_the_times_work_without_javascript(browser, live_server, appointment):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(live_server.url + appointment.consultation_request.get_status_url() + "reschedule/")
    main = page.locator("main")
    main.locator('input[name="time"]').nth(1).check()
    main.get_by_role("button", name="Continue").click()
    main.get_by_role("button", name="Yes, move my consultation").click()
    expect(main.get_by_role("status")).to_contain_text("Your consultation has been moved.")
    context.close()
    appointment.refresh_from_db()
    assert appointment.sequence == 1


def test_the_front_desk_books_an_open_time_from_the_request_page(page, live_server, settings):
    from django.utils import timezone

    from tests.browser.test_calendar import sign_in
    from tests.factories import make_staff

    settings.TIME_ZONE = "America/New_York"
    kind = make_kind(name="First consultation", duration_minutes=45, interval_minutes=60)
    make_clinician(
        kinds=[kind],
        states=["NY"],
        hours=[(day, "09:00", "13:00") for day in range(7)],
        display_name="Dr. Ana Reyes",
    )
    consultation_request = make_request(state="NY", modality="in_person")
    sign_in(page, live_server, make_staff("front_desk"))
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    page.goto(
        f"{live_server.url}/admin/appointments/consultationrequest/{consultation_request.pk}/change/"
        f"?book_from={tomorrow.isoformat()}"
    )
    panel = page.locator(".open-times-panel")
    expect(panel.get_by_role("heading", name="Book an open time")).to_be_visible()
    panel.scroll_into_view_if_needed()
    no_sideways_scrolling(page)
    shoot(page, "7-admin-open-times")
    panel.get_by_role("button", name="10:00 AM · Dr. Ana Reyes").first.click()
    expect(page.locator(".messagelist")).to_contain_text("The patient was e-mailed a calendar invitation.")
    shoot(page, "8-admin-booked")
    appointment = Appointment.objects.get()
    assert timezone.localtime(appointment.starts_at).replace(tzinfo=None) == datetime.datetime.combine(
        tomorrow, datetime.time(10)
    )
    assert appointment.modality == "in_person"
