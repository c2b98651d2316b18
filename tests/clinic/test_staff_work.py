"""No staff work lost to the idle logout: what is posted after it comes back after the next sign-in."""

import datetime
import re

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from appointments.jobs import unsaved_staff_work_purge
from appointments.models import StaffNote, UnsavedStaffWork
from tests.appointments.conftest import admin_form_data, change_url
from tests.factories import PASSWORD, make_request, make_staff

pytestmark = pytest.mark.django_db

LOGIN = "/admin/account/login/"
NOTE = "Spoke to her mother; call back Tuesday after 2pm."


def sign_in(client, user, next_url=""):
    """A real sign-in: password, then the authenticator's code."""
    device, _created = TOTPDevice.objects.get_or_create(
        user=user, name="default", defaults={"confirmed": True}
    )
    url = f"{LOGIN}?next={next_url}" if next_url else LOGIN
    client.post(
        url, {"login_view-current_step": "auth", "auth-username": user.username, "auth-password": PASSWORD}
    )
    # A real sign-in again is minutes later, with a new code; here it is the same 30 seconds.
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    return client.post(
        url, {"login_view-current_step": "token", "token-otp_token": f"{totp(device.bin_key):06d}"}
    )


def end_sessions():
    """What the idle timeout does: the session is gone from the server."""
    Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))


def textarea(html, name):
    match = re.search(rf'<textarea name="{name}"[^>]*>\n?(.*?)</textarea>', html, re.S)
    return match.group(1) if match else None


@pytest.fixture
def desk():
    return make_staff("front_desk")


@pytest.fixture
def after_logout(client, desk):
    """A request's page opened while signed in, then a note posted once the session had ended."""
    consultation_request = make_request()
    sign_in(client, desk)
    assert client.get(change_url(consultation_request)).status_code == 200
    end_sessions()
    response = client.post(
        change_url(consultation_request),
        admin_form_data(consultation_request, new_note=NOTE, status="contacted"),
    )
    return consultation_request, response


def test_a_note_posted_after_the_session_ended_is_kept_not_saved(client, desk, after_logout):
    consultation_request, response = after_logout
    assert response.status_code == 302
    assert (
        response["Location"]
        == f"{LOGIN}?next=%2Fadmin%2Fappointments%2Fconsultationrequest%2F{consultation_request.pk}%2Fchange%2F"
    )
    assert not StaffNote.objects.exists()
    consultation_request.refresh_from_db()
    assert consultation_request.status == "new"
    work = UnsavedStaffWork.objects.get()
    assert work.user == desk
    assert ["new_note", NOTE] in work.data
    assert all(name != "csrfmiddlewaretoken" for name, _value in work.data)
    login_page = client.get(response["Location"]).content.decode()
    assert "your changes have not been saved yet" in login_page


def test_signing_in_again_lands_on_the_request_with_the_note_in_place(client, desk, after_logout):
    consultation_request, response = after_logout
    response = sign_in(client, desk, next_url=change_url(consultation_request))
    assert response.status_code == 302
    assert response["Location"] == change_url(consultation_request)
    page = client.get(response["Location"]).content.decode()
    assert textarea(page, "new_note") == NOTE
    assert re.search(r'<option value="contacted" selected>', page)
    assert "Your changes were not saved yet" in page
    # Handed back once, and still not saved until the staff member saves.
    assert not UnsavedStaffWork.objects.exists()
    assert not StaffNote.objects.exists()
    client.get(change_url(consultation_request))
    assert textarea(client.get(change_url(consultation_request)).content.decode(), "new_note") == ""


def test_another_user_in_the_same_browser_gets_nothing(client, after_logout):
    consultation_request, _response = after_logout
    colleague = make_staff("front_desk", username="colleague")
    sign_in(client, colleague)
    page = client.get(change_url(consultation_request)).content.decode()
    assert NOTE not in page
    assert UnsavedStaffWork.objects.count() == 1


def test_the_same_user_in_another_browser_gets_nothing(desk, after_logout):
    consultation_request, _response = after_logout
    other_browser = Client()
    sign_in(other_browser, desk)
    page = other_browser.get(change_url(consultation_request)).content.decode()
    assert NOTE not in page
    assert UnsavedStaffWork.objects.count() == 1


def test_a_post_without_the_browser_cookie_keeps_nothing(client, desk):
    consultation_request = make_request()
    response = client.post(
        change_url(consultation_request), admin_form_data(consultation_request, new_note=NOTE)
    )
    assert response.status_code == 302
    assert not UnsavedStaffWork.objects.exists()


def test_kept_work_is_deleted_after_24_hours(client, desk, after_logout):
    work = UnsavedStaffWork.objects.get()
    UnsavedStaffWork.objects.filter(pk=work.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=23)
    )
    unsaved_staff_work_purge()
    assert UnsavedStaffWork.objects.count() == 1
    UnsavedStaffWork.objects.filter(pk=work.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=24, seconds=1)
    )
    unsaved_staff_work_purge()
    assert not UnsavedStaffWork.objects.exists()


def test_expired_work_is_not_restored_even_before_the_purge(client, desk, after_logout):
    consultation_request, _response = after_logout
    UnsavedStaffWork.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))
    sign_in(client, desk)
    page = client.get(change_url(consultation_request)).content.decode()
    assert NOTE not in page


def test_workspace_pages_carry_the_timeout_warning_and_a_notice_without_javascript(client, desk, settings):
    settings.SESSION_COOKIE_AGE = 15 * 60
    settings.SESSION_WARNING_SECONDS = 120
    consultation_request = make_request()
    sign_in(client, desk)
    page = client.get(change_url(consultation_request)).content.decode()
    assert re.search(
        r'<dialog id="session-timeout"[^>]*data-idle-seconds="900" data-warning-seconds="120"'
        r'\s+data-keepalive-url="/admin/session/keepalive/"',
        page,
    )
    assert '<script src="/static/clinic/js/session-timeout.js" defer></script>' in page
    notice = re.search(r"<noscript>(.*?)</noscript>", page, re.S).group(1)
    assert "signed out after 15 minutes without saving or opening a page" in " ".join(notice.split())


def test_the_keepalive_renews_a_signed_in_session_only(client, desk):
    assert client.get("/admin/session/keepalive/").status_code == 403
    sign_in(client, desk)
    response = client.get("/admin/session/keepalive/")
    assert response.status_code == 204
    assert "no-cache" in response["Cache-Control"]
    end_sessions()
    assert client.get("/admin/session/keepalive/").status_code == 403


def test_workspace_pages_look_for_kept_work_only_in_a_browser_that_has_some(client, desk):
    consultation_request = make_request()
    sign_in(client, desk)
    client.get(change_url(consultation_request))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(change_url(consultation_request)).status_code == 200
    assert queries.captured_queries
    assert not [query for query in queries.captured_queries if "unsavedstaffwork" in query["sql"]]


def test_the_pending_mark_goes_once_the_work_is_given_back(client, desk, after_logout):
    consultation_request, response = after_logout
    assert response.cookies["clinic_staff_work_pending"].value == "1"
    sign_in(client, desk, next_url=change_url(consultation_request))
    response = client.get(change_url(consultation_request))
    assert response.cookies["clinic_staff_work_pending"]["max-age"] == 0
