"""A clinician's calendar feed: only a well-formed secret is looked up, and only an active login's
feed answers; switching a login off replaces its secret for good."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appointments.models import AuditEvent, Clinician
from appointments.roles import CLINICIAN, FRONT_DESK
from tests.factories import make_staff

pytestmark = pytest.mark.django_db

USERS = "/admin/auth/user/"


def feed(client, token):
    return client.get(f"/calendar/{token}.ics")


# --- Finding 8: a token not of the secret's alphabet and length is a 404, never a 500 ------------


@pytest.mark.parametrize(
    "token",
    [
        "%00",
        "A" * 42 + "%00",
        "short",
        "A" * 42,
        "A" * 44,
        "A" * 200,
        "A" * 42 + "!",
        "A" * 42 + ".",
        "A" * 42 + "%20",
        "A" * 42 + "%0A",
        "%C3%A9",
        "A" * 42 + "%C3%A9",
        "%E2%80%9D" * 43,
    ],
)
def test_a_token_of_the_wrong_shape_is_not_found_nor_looked_up(client, clinician, token):
    # The test client raises a server error rather than returning a 500.
    with CaptureQueriesContext(connection) as context:
        assert feed(client, token).status_code == 404
    assert not [query for query in context.captured_queries if "appointments_clinician" in query["sql"]]


def test_the_real_secret_plus_anything_is_not_found(client, clinician):
    token = clinician.calendar_feed_token
    assert feed(client, token).status_code == 200
    for suffix in ["%0A", "%00", "%20", "A", ")"]:
        assert feed(client, token + suffix).status_code == 404
    assert feed(client, token[:-1]).status_code == 404


# --- Finding 9: only an active login's feed answers ------------------------------------------------


def change_data(user, **overrides):
    """What a clinic admin posts from a colleague's login page, left as it was."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "role": Group.objects.get(name=CLINICIAN).pk,
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_switching_a_login_off_ends_its_feed_and_switching_it_on_never_brings_the_old_one_back(
    client, login_as, clinician
):
    old = clinician.calendar_feed_token
    assert feed(client, old).status_code == 200
    admin = login_as("clinic_admin")
    user = clinician.user

    response = client.post(f"{USERS}{user.pk}/change/", change_data(user, is_active=None))

    assert response.status_code == 302
    user.refresh_from_db()
    clinician.refresh_from_db()
    assert not user.is_active
    assert clinician.calendar_feed_token != old
    assert feed(client, old).status_code == 404
    assert feed(client, clinician.calendar_feed_token).status_code == 404
    assert AuditEvent.objects.filter(
        actor=admin,
        description=f"Switched off the login of {user.username}; calendar feed address replaced",
    ).exists()

    client.post(f"{USERS}{user.pk}/change/", change_data(user))

    user.refresh_from_db()
    assert user.is_active
    assert feed(client, old).status_code == 404
    renewed = Clinician.objects.get(pk=clinician.pk).calendar_feed_token
    assert renewed == clinician.calendar_feed_token
    assert feed(client, renewed).status_code == 200
    assert AuditEvent.objects.filter(
        actor=admin, description=f"Switched on the login of {user.username}"
    ).exists()


def test_a_login_switched_off_by_any_means_has_no_feed(client, clinician):
    type(clinician.user).objects.filter(pk=clinician.user_id).update(is_active=False)
    assert feed(client, clinician.calendar_feed_token).status_code == 404


def test_a_login_no_longer_staff_has_no_feed(client, clinician):
    type(clinician.user).objects.filter(pk=clinician.user_id).update(is_staff=False)
    assert feed(client, clinician.calendar_feed_token).status_code == 404


def test_a_clinician_who_stops_taking_bookings_has_no_feed(client, clinician):
    token = clinician.calendar_feed_token
    Clinician.objects.filter(pk=clinician.pk).update(is_active=False)
    assert feed(client, token).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LIST).exists()


def test_switching_off_a_login_that_is_no_clinician_needs_no_feed(client, login_as):
    login_as("clinic_admin")
    user = make_staff("front_desk", username="desk2")
    response = client.post(
        f"{USERS}{user.pk}/change/",
        change_data(user, is_active=None, role=Group.objects.get(name=FRONT_DESK).pk),
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.is_active
    assert AuditEvent.objects.filter(description="Switched off the login of desk2").exists()
