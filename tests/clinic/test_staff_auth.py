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


# Behind the load balancer every connection comes from its address; X-Forwarded-For names the client.


@pytest.fixture
def behind_the_balancer(settings):
    settings.TRUSTED_PROXY_COUNT = 1


def post_password_from(client, address, username, password):
    return client.post(
        LOGIN,
        {"login_view-current_step": "auth", "auth-username": username, "auth-password": password},
        HTTP_X_FORWARDED_FOR=address,
        REMOTE_ADDR="10.0.0.1",
    )


def test_failures_lock_only_that_username_at_that_address(client, django_user_model, behind_the_balancer):
    for name in ["frontdesk", "clinician", "owner"]:
        user = django_user_model.objects.create_user(name, f"{name}@clinic.example", PASSWORD, is_staff=True)
        TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        post_password_from(client, "198.51.100.66", "frontdesk", "wrong")

    # The attacker is locked out; colleagues elsewhere, and the victim from their own desk, are not.
    assert post_password_from(client, "198.51.100.66", "frontdesk", PASSWORD).status_code == 429
    for address, username in [
        ("203.0.113.10", "clinician"),
        ("203.0.113.11", "owner"),
        ("203.0.113.12", "frontdesk"),
        ("198.51.100.66", "clinician"),
    ]:
        response = post_password_from(client.__class__(), address, username, PASSWORD)
        assert response.status_code == 200, (address, username)
        assert 'name="token-otp_token"' in response.content.decode()


def test_trying_many_usernames_from_one_address_is_slowed(client, settings, behind_the_balancer):
    settings.STAFF_LOGIN_RATE_LIMIT = "10/10m"
    statuses = [
        post_password_from(client, "198.51.100.66", f"guess{number}", "Summer2026!").status_code
        for number in range(12)
    ]
    assert statuses[:10] == [200] * 10
    assert statuses[10:] == [429, 429]
    # Another address is not slowed.
    assert post_password_from(client, "203.0.113.10", "guess99", "Summer2026!").status_code == 200


def test_an_over_long_username_is_refused_with_a_400(client):
    response = post_password(client, username="x" * 300)
    assert response.status_code == 400


# The sign-in pages are the staff workspace's, in plain words, not the patient site's.

PATIENT_FRAME = ["crisis-bar", "Request a consultation", "site-nav"]


def assert_staff_frame(html):
    assert 'id="site-name"' in html
    assert "staff workspace" in html
    for marker in PATIENT_FRAME:
        assert marker not in html


def test_the_password_step_is_in_the_staff_frame(client):
    html = client.get(LOGIN).content.decode()
    assert_staff_frame(html)
    assert "Sign in to the staff workspace" in html


def test_the_code_step_asks_for_the_six_digit_code_in_plain_words(client, staff, totp_device):
    html = post_password(client).content.decode()
    assert_staff_frame(html)
    assert "Enter the 6-digit code from your authenticator app." in html
    assert '<label for="id_token-otp_token">6-digit code:</label>' in html
    assert "token generator" not in html
    assert "Token" not in html


def test_the_backup_step_asks_for_a_backup_code(client, staff, totp_device):
    StaticDevice.objects.create(user=staff, name="backup").token_set.create(token="recover1")
    html = post_password(client).content.decode()
    assert "Use a backup code" in html
    response = client.post(LOGIN, {"login_view-current_step": "token", "wizard_goto_step": "backup"})
    html = response.content.decode()
    assert_staff_frame(html)
    assert '<label for="id_backup-otp_token">Backup code:</label>' in html


def test_enrolment_is_in_the_staff_frame_and_plain_words(client, staff):
    post_password(client)
    html = client.get("/admin/account/two_factor/setup/").content.decode()
    assert_staff_frame(html)
    assert "Set up your authenticator app" in html
    response = client.post("/admin/account/two_factor/setup/", {"setup_view-current_step": "welcome"})
    html = response.content.decode()
    assert_staff_frame(html)
    assert "Enter the 6-digit code the app now shows." in html
    assert '<label for="id_generator-token">6-digit code:</label>' in html
