"""Each role at 1280 px, signed in with a real authenticator code: the front desk's call and the
clinician's flags in the first screen, overdue marked in the list, and a clinician's decision that
the front desk sees as its outcome only."""

import datetime
import re

import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from appointments.models import ClinicalDecision
from tests.browser.conftest import DESKTOP
from tests.factories import PASSWORD, make_request, make_staff

FIRST_SCREEN = DESKTOP["height"]


def staff_with_authenticator(role, username, **names):
    user = make_staff(role, username=username, **names)
    return user, TOTPDevice.objects.create(user=user, name="default", confirmed=True)


def sign_in(page, live_server, user, device, assert_accessible=None):
    page.goto(live_server.url + "/admin/")
    expect(page.get_by_role("heading", name="Sign in to the staff workspace")).to_be_visible()
    expect(page.locator(".crisis-bar")).to_have_count(0)
    if assert_accessible:
        assert_accessible(page)
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Enter the 6-digit code from your authenticator app.")).to_be_visible()
    if assert_accessible:
        assert_accessible(page)
    page.get_by_label("6-digit code").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Consultation requests", level=2)).to_be_visible()


def in_first_screen(locator):
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= FIRST_SCREEN


@pytest.fixture
def urgent_overdue(transactional_db):
    make_request(last_name="Haddad")
    return make_request(
        first_name="Maria",
        last_name="Okonkwo",
        phone="+12125550199",
        is_urgent=True,
        self_harm_thoughts=True,
        flags=["self_harm", "lamotrigine"],
        current_medications="Lamictal 200mg",
        created_at=timezone.now() - datetime.timedelta(days=2),
        respond_by=timezone.now() - datetime.timedelta(days=1),
    )


def test_the_front_desk_finds_the_overdue_request_and_its_call_in_the_first_screen(
    desktop_page, live_server, urgent_overdue, assert_accessible
):
    user, device = staff_with_authenticator("front_desk", "dana", first_name="Dana", last_name="Reyes")
    sign_in(desktop_page, live_server, user, device, assert_accessible)
    assert_accessible(desktop_page)

    desktop_page.goto(live_server.url + "/admin/appointments/consultationrequest/")
    row = desktop_page.locator("#result_list tbody tr", has_text=urgent_overdue.reference)
    expect(row.locator(".badge--overdue")).to_have_text("Overdue")
    expect(desktop_page.locator("#result_list .badge--overdue")).to_have_count(1)
    assert_accessible(desktop_page)

    row.get_by_role("link", name=urgent_overdue.reference).click()
    phone = desktop_page.locator('a[href="tel:+12125550199"]')
    expect(phone).to_be_visible()
    assert in_first_screen(phone)
    assert in_first_screen(desktop_page.get_by_text("Clinical urgent: call today"))
    assert in_first_screen(desktop_page.get_by_label("No answer"))
    assert in_first_screen(desktop_page.get_by_role("combobox", name="Status"))
    assert in_first_screen(desktop_page.get_by_role("link", name="Book the consultation"))
    assert "Lamictal" not in desktop_page.content()
    assert_accessible(desktop_page)

    desktop_page.get_by_label("Reached them").check()
    desktop_page.get_by_role("button", name="Save and continue editing").first.click()
    expect(desktop_page.get_by_role("combobox", name="Status")).to_have_value("contacted")
    expect(desktop_page.locator(".field-call_history")).to_contain_text("Reached them")


def test_a_clinicians_decision_reaches_the_front_desk_as_its_outcome_only(
    desktop_page, live_server, urgent_overdue, assert_accessible
):
    clinician, device = staff_with_authenticator("clinician", "drlee", first_name="Ana", last_name="Lee")
    sign_in(desktop_page, live_server, clinician, device)
    desktop_page.goto(
        live_server.url + f"/admin/appointments/consultationrequest/{urgent_overdue.pk}/change/"
    )
    flags = desktop_page.locator(".flag-list")
    expect(flags).to_contain_text("Current thoughts of self-harm")
    expect(flags).to_contain_text("Takes lamotrigine")
    assert in_first_screen(flags)
    assert in_first_screen(desktop_page.get_by_text("Answered yes to current thoughts of self-harm"))
    assert_accessible(desktop_page)

    desktop_page.get_by_role("radio", name="Not suitable").check()
    desktop_page.get_by_label("Why it is not suitable").select_option("medicines")
    desktop_page.get_by_label("Details (clinicians only)").fill("Zebra: cannot pause lamotrigine")
    desktop_page.get_by_role("button", name="Save and continue editing").first.click()
    expect(desktop_page.locator(".decision-history")).to_contain_text("Not suitable")
    expect(desktop_page.locator(".decision-history")).to_contain_text("Zebra: cannot pause lamotrigine")
    assert ClinicalDecision.objects.get().decided_by == clinician
    desktop_page.get_by_role("button", name=re.compile("Log out", re.I)).click()

    desk, desk_device = staff_with_authenticator("front_desk", "dana", first_name="Dana", last_name="Reyes")
    sign_in(desktop_page, live_server, desk, desk_device)
    desktop_page.goto(
        live_server.url + f"/admin/appointments/consultationrequest/{urgent_overdue.pk}/change/"
    )
    outcome = desktop_page.locator(".field-decision_outcome_only")
    expect(outcome).to_contain_text("Not suitable")
    expect(outcome).to_contain_text("Ana Lee")
    assert in_first_screen(outcome)
    html = desktop_page.content()
    assert "Zebra" not in html and "Medicines that cannot be paused" not in html
    assert_accessible(desktop_page)
