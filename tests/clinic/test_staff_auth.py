"""Staff reach the workspace only after a password and a second factor; failures lock the account."""

import pytest
from django.conf import settings
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db

LOGIN = "/admin/account/login/"
PASSWORD = "a long staff passphrase"


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("frontdesk", "fd@clinic.example", PASSWORD, is_staff=True)


@pytest.fixture
def totp_device(staff):
    return TOTPDevice.objects.create(user=staff, name="default", confirmed=True)


def post_password(client, username="frontdesk", password=PASSWORD):
    return client.post(
        LOGIN,
        {"login_view-current_step": "auth", "auth-username": username, "auth-password": password},
    )


def test_admin_sends_anonymous_visitors_to_the_two_factor_login(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith(LOGIN)
    assert response.status_code == 200


def test_password_alone_does_not_open_the_admin(client, staff, totp_device):
    response = post_password(client)
    assert response.status_code == 200
    assert 'name="token-otp_token"' in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_password_and_token_open_the_admin(client, staff, totp_device):
    post_password(client)
    response = client.post(
        LOGIN,
        {"login_view-current_step": "token", "token-otp_token": f"{totp(totp_device.bin_key):06d}"},
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_wrong_token_is_refused(client, staff, totp_device):
    post_password(client)
    wrong = f"{(totp(totp_device.bin_key) + 1) % 1_000_000:06d}"
    response = client.post(LOGIN, {"login_view-current_step": "token", "token-otp_token": wrong})
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_staff_without_a_device_is_sent_to_enrol_one(client, staff):
    response = post_password(client)
    assert response.status_code == 302
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/admin/account/two_factor/setup/"
    assert response.status_code == 200


def test_a_backup_code_recovers_a_lost_phone(client, staff, totp_device):
    device = StaticDevice.objects.create(user=staff, name="backup")
    device.token_set.create(token="recover1")
    post_password(client)
    client.post(LOGIN, {"login_view-current_step": "token", "wizard_goto_step": "backup"})
    response = client.post(LOGIN, {"login_view-current_step": "backup", "backup-otp_token": "recover1"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert not device.token_set.filter(token="recover1").exists()


def test_repeated_failures_lock_the_account(client, staff, totp_device):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        post_password(client, password="wrong")
    response = post_password(client)
    assert response.status_code == 429
    assert "This account is locked for now" in response.content.decode()


def test_staff_sessions_end_after_fifteen_idle_minutes():
    assert settings.SESSION_COOKIE_AGE == 15 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
