"""Staff logins: nobody reads, chooses or plants another person's second factor or password; a clinic
admin gives one role, never superuser status, and cannot touch a superuser."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from appointments.emails import outbound_email_send_due
from appointments.models import AuditEvent, OutboundEmail
from appointments.roles import CLINIC_ADMIN, CLINICIAN, FRONT_DESK
from tests.factories import PASSWORD, log_in_verified, make_staff

pytestmark = pytest.mark.django_db

USERS = "/admin/auth/user/"
LOGIN = "/admin/account/login/"
NEW_PASSWORD = "my own new passphrase 7731"
LINK_RE = re.compile(r"http://[^/\s]+(/admin/account/set-password/[^\s]+/)")


@pytest.fixture
def colleague(db):
    user = make_staff("clinician", username="colleague")
    TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    return user


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("owner", "owner@clinic.example", PASSWORD)


def clinic_admin_client(client):
    log_in_verified(client, make_staff("clinic_admin", username="clinicadmin"))
    return client


def superuser_client(client, superuser):
    log_in_verified(client, superuser)
    return client


def change_data(user, **overrides):
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def mailed_link(to):
    email = OutboundEmail.objects.filter(to=to).latest("created_at")
    return LINK_RE.search(email.body).group(1)


def sign_in_with_password(client, username, password):
    return client.post(
        LOGIN, {"login_view-current_step": "auth", "auth-username": username, "auth-password": password}
    )


# Finding 1: second factors and passwords.


@pytest.mark.parametrize("as_superuser", [False, True])
def test_nobody_can_read_or_choose_an_authenticators_secret(client, colleague, superuser, as_superuser):
    superuser_client(client, superuser) if as_superuser else clinic_admin_client(client)
    device = TOTPDevice.objects.get(user=colleague)
    static = StaticDevice.objects.create(user=colleague, name="backup")
    static.token_set.create(token="secret77")
    for url in [
        f"/admin/otp_totp/totpdevice/{device.pk}/change/",
        f"/admin/otp_totp/totpdevice/{device.pk}/config/",
        f"/admin/otp_totp/totpdevice/{device.pk}/qrcode/",
        "/admin/otp_totp/totpdevice/add/",
        "/admin/otp_totp/totpdevice/",
        f"/admin/otp_static/staticdevice/{static.pk}/change/",
        "/admin/otp_static/staticdevice/add/",
    ]:
        response = client.get(url, follow=True)
        body = response.content.decode()
        assert device.key not in body, url
        assert "secret77" not in body, url
        assert "otpauth://" not in body, url
        assert 'name="key"' not in body and 'name="token_set-0-token"' not in body, url


def test_no_one_can_plant_an_authenticator_for_someone_else(client, colleague, superuser):
    superuser_client(client, superuser)
    client.post(
        "/admin/otp_totp/totpdevice/add/",
        {
            "user": colleague.pk,
            "name": "planted",
            "key": "3132333435363738393031323334353637383930",
            "step": 30,
            "t0": 0,
            "digits": 6,
            "tolerance": 1,
            "drift": 0,
            "confirmed": "on",
        },
    )
    client.post(
        "/admin/otp_static/staticdevice/add/",
        {
            "user": colleague.pk,
            "name": "planted",
            "confirmed": "on",
            "throttling_failure_count": 0,
            "token_set-TOTAL_FORMS": 1,
            "token_set-INITIAL_FORMS": 0,
            "token_set-0-token": "planted1",
        },
    )
    assert not TOTPDevice.objects.filter(name="planted").exists()
    assert not StaticDevice.objects.filter(name="planted").exists()


@pytest.mark.parametrize("as_superuser", [False, True])
def test_nobody_sets_another_persons_password_in_the_workspace(client, colleague, superuser, as_superuser):
    superuser_client(client, superuser) if as_superuser else clinic_admin_client(client)
    response = client.post(
        f"{USERS}{colleague.pk}/password/",
        {
            "password1": "chosen by the admin 123",
            "password2": "chosen by the admin 123",
            "usable_password": "true",
        },
    )
    assert response.status_code != 200
    colleague.refresh_from_db()
    assert colleague.check_password(PASSWORD)
    assert not colleague.check_password("chosen by the admin 123")
    page = client.get(f"{USERS}{colleague.pk}/change/").content.decode()
    assert "/password/" not in page


def test_a_set_password_link_goes_to_the_person_works_once_and_replaces_their_authenticator(
    client, colleague
):
    clinic_admin_client(client)
    response = client.post(USERS, {"action": "send_password_link", "_selected_action": [colleague.pk]})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(
        actor_label="clinicadmin", description="Sent a set-password link to colleague"
    ).exists()
    link = mailed_link("colleague@clinic.example")
    client.logout()

    # The person follows the link: the token moves out of the address before the form shows.
    response = client.get(link)
    assert response.status_code == 302
    form_url = response["Location"]
    assert form_url.endswith("/set-password/") and link.split("/")[-2] not in form_url
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    colleague.refresh_from_db()
    assert colleague.check_password(NEW_PASSWORD)
    assert not TOTPDevice.objects.filter(user=colleague).exists()

    # Once used, the link is void.
    client.logout()
    response = client.get(link, follow=True)
    assert 'name="new_password1"' not in response.content.decode()

    # Signing in with the new password leads to enrolling their own authenticator.
    sign_in_with_password(client, "colleague", NEW_PASSWORD)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/admin/account/two_factor/setup/"


def test_a_set_password_link_expires(client, colleague, settings):
    clinic_admin_client(client)
    client.post(USERS, {"action": "send_password_link", "_selected_action": [colleague.pk]})
    link = mailed_link("colleague@clinic.example")
    client.logout()
    # Django's tokens count whole seconds from their own epoch: a timeout below zero has passed.
    settings.PASSWORD_RESET_TIMEOUT = -1
    response = client.get(link, follow=True)
    assert 'name="new_password1"' not in response.content.decode()


def test_a_clinic_admin_invites_a_colleague_who_sets_their_own_password(
    client, django_capture_on_commit_callbacks
):
    clinic_admin_client(client)
    front_desk = Group.objects.get(name=FRONT_DESK)
    response = client.post(
        f"{USERS}add/",
        {
            "username": "newhire",
            "first_name": "Nia",
            "last_name": "Oyelaran",
            "email": "nia@clinic.example",
            "role": front_desk.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    user = get_user_model().objects.get(username="newhire")
    assert user.is_staff and not user.is_superuser
    assert not user.has_usable_password()
    assert list(user.groups.values_list("name", flat=True)) == [FRONT_DESK]
    assert AuditEvent.objects.filter(
        actor_label="clinicadmin", description="Invited newhire as Front desk"
    ).exists()

    outbound_email_send_due()
    from django.core import mail

    assert mail.outbox[-1].to == ["nia@clinic.example"]
    assert "newhire" in mail.outbox[-1].body
    link = LINK_RE.search(mail.outbox[-1].body).group(1)
    client.logout()
    form_url = client.get(link)["Location"]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_removing_a_lost_authenticator_is_audited(client, colleague):
    clinic_admin_client(client)
    StaticDevice.objects.create(user=colleague, name="backup")
    client.post(USERS, {"action": "remove_authenticators", "_selected_action": [colleague.pk]})
    assert not TOTPDevice.objects.filter(user=colleague).exists()
    assert not StaticDevice.objects.filter(user=colleague).exists()
    assert AuditEvent.objects.filter(
        actor_label="clinicadmin", description="Removed the authenticators of colleague"
    ).exists()


def test_a_clinic_admin_cannot_act_on_a_superuser(client, superuser):
    clinic_admin_client(client)
    TOTPDevice.objects.create(user=superuser, name="default", confirmed=True)
    assert "owner@clinic.example" not in client.get(USERS).content.decode()
    assert client.get(f"{USERS}{superuser.pk}/change/").status_code in {302, 403, 404}
    client.post(f"{USERS}{superuser.pk}/change/", change_data(superuser, email="mine@clinic.example"))
    for action in ["send_password_link", "remove_authenticators", "delete_selected"]:
        client.post(USERS, {"action": action, "_selected_action": [superuser.pk], "post": "yes"})
    superuser.refresh_from_db()
    assert superuser.email == "owner@clinic.example"
    assert TOTPDevice.objects.filter(user=superuser).exists()
    assert not OutboundEmail.objects.filter(to="owner@clinic.example").exists()


def test_a_clinic_admin_cannot_redirect_a_colleagues_links_once_they_have_signed_in(client, colleague):
    from django.utils import timezone

    get_user_model().objects.filter(pk=colleague.pk).update(last_login=timezone.now())
    clinic_admin_client(client)
    role = Group.objects.get(name=CLINICIAN)
    client.post(
        f"{USERS}{colleague.pk}/change/", change_data(colleague, email="attacker@example.com", role=role.pk)
    )
    colleague.refresh_from_db()
    assert colleague.email == "colleague@clinic.example"


# Finding 3: superuser status, staff status and permissions.


def test_a_clinic_admin_cannot_make_anyone_superuser_or_grant_permissions(client, colleague):
    clinic_admin_client(client)
    me = get_user_model().objects.get(username="clinicadmin")
    admin_group = Group.objects.get(name=CLINIC_ADMIN)
    permission = (
        Permission.objects.get(codename="delete_auditevent")
        if Permission.objects.filter(codename="delete_auditevent").exists()
        else Permission.objects.get(codename="add_permission")
    )
    extra = Group.objects.create(name="Anything goes")
    for user in [me, colleague]:
        response = client.post(
            f"{USERS}{user.pk}/change/",
            change_data(
                user,
                role=admin_group.pk,
                is_superuser="on",
                is_staff="on",
                user_permissions=[permission.pk],
                groups=[extra.pk, admin_group.pk],
            ),
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        user.refresh_from_db()
        assert not user.is_superuser
        assert not user.user_permissions.exists()
        assert list(user.groups.values_list("name", flat=True)) == [CLINIC_ADMIN]
    page = client.get(f"{USERS}{colleague.pk}/change/").content.decode()
    assert 'name="is_superuser"' not in page and 'name="user_permissions"' not in page


def test_a_superuser_may_still_grant_superuser_status(client, superuser, colleague):
    superuser_client(client, superuser)
    response = client.post(
        f"{USERS}{colleague.pk}/change/", change_data(colleague, is_superuser="on", is_staff="on")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    colleague.refresh_from_db()
    assert colleague.is_superuser


def test_the_staff_list_costs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    clinic_admin_client(client)
    for number in range(30):
        make_staff("front_desk", username=f"desk{number}")
    with django_assert_max_num_queries(15):
        response = client.get(USERS)
    assert response.status_code == 200
    assert "desk29" in response.content.decode()
