"""The idle logout in a real browser, under the site's Content Security Policy: a warning with a
countdown, "Stay signed in" renews the session, and a note saved after the logout comes back."""

import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from appointments.models import StaffNote
from tests.factories import PASSWORD, make_request, make_staff

from .conftest import DESKTOP

NOTE = "Left a voicemail; she prefers calls after 5pm."


@pytest.fixture
def desk(transactional_db):
    user = make_staff("front_desk", username="dana")
    device = TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    return user, device


@pytest.fixture
def strict_page(browser, live_server):
    """A page that enforces the Content Security Policy, and the policy violations it reports."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(10_000)
    violations = []
    page.on(
        "console",
        lambda message: "Content Security Policy" in message.text and violations.append(message.text),
    )
    yield page, violations
    context.close()


def fill_in_sign_in(page, desk):
    user, device = desk
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("6-digit code").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Continue").click()


def test_the_warning_counts_down_renews_and_no_note_is_lost(strict_page, live_server, desk, settings):
    settings.SESSION_COOKIE_AGE = 8
    settings.SESSION_WARNING_SECONDS = 5
    page, violations = strict_page
    consultation_request = make_request()
    change = f"{live_server.url}/admin/appointments/consultationrequest/{consultation_request.pk}/change/"
    page.goto(change)
    fill_in_sign_in(page, desk)
    expect(page).to_have_url(change)

    dialog = page.get_by_role("dialog", name="You will be signed out soon")
    expect(dialog).to_be_hidden()
    expect(dialog).to_be_visible(timeout=6_000)
    expect(dialog).to_contain_text(re.compile(r"sign you out in \d seconds?"))
    page.get_by_role("button", name="Stay signed in").click()
    expect(dialog).to_be_hidden()

    # The staff member types, and lets the time run out this time.
    page.get_by_label("Add a note").fill(NOTE)
    expect(dialog).to_be_visible(timeout=6_000)
    signed_out = page.get_by_role("dialog", name="You have been signed out")
    expect(signed_out).to_be_visible(timeout=8_000)
    expect(signed_out).to_contain_text("Nothing you typed on this page is lost")
    page.get_by_role("button", name="Close").click()
    expect(page.get_by_label("Add a note")).to_have_value(NOTE)

    page.get_by_role("button", name="Save", exact=True).first.click()
    expect(page.get_by_text("your changes have not been saved yet")).to_be_visible()
    assert not StaffNote.objects.exists()
    fill_in_sign_in(page, desk)
    expect(page).to_have_url(change)
    expect(page.get_by_text("Your changes were not saved yet")).to_be_visible()
    expect(page.get_by_label("Add a note")).to_have_value(NOTE)
    assert violations == []
