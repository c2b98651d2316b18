"""Two patients' requests never merge; the confirmation page is the sender's, briefly; forms are not cached."""

import re

import pytest
from django.test import Client

from appointments.models import ConsultationRequest
from tests.appointments.conftest import FORM_URL
from tests.booking import walk
from tests.factories import booking_answers

pytestmark = pytest.mark.django_db


def test_the_step_pages_are_never_stored_by_a_cache_and_the_start_page_is_shared(client):
    start = client.get(FORM_URL)
    # No form, no cookie, the same for everyone: a shared cache may keep it.
    assert start["Cache-Control"].startswith("public")
    assert not start.cookies
    for url in ["/consultation/you/", "/consultation/help/"]:
        assert "no-store" in client.get(url)["Cache-Control"], url
    response = walk(client, booking_answers(first_name=""))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    walk(client, booking_answers(), stop_after="visit")
    assert "no-store" in client.get("/consultation/check/")["Cache-Control"]


def test_a_second_patient_posting_a_used_form_token_gets_a_request_of_their_own(
    client, django_capture_on_commit_callbacks
):
    data = booking_answers()
    with django_capture_on_commit_callbacks(execute=True):
        first = walk(client, data)
    # Another person, another browser, the same copy of the form (restored from a shared device).
    other = Client()
    with django_capture_on_commit_callbacks(execute=True):
        second = walk(
            other, {**data, "first_name": "Tomasz", "last_name": "Brennan", "self_harm_thoughts": "yes"}
        )
    assert ConsultationRequest.objects.count() == 2
    assert first["Location"] != second["Location"]
    tomasz = ConsultationRequest.objects.get(first_name="Tomasz")
    assert tomasz.is_urgent
    page = other.get(second["Location"])
    assert page.status_code == 200
    assert tomasz.reference in page.content.decode()
    # The first patient's page stays closed to the second patient.
    assert other.get(first["Location"]).status_code == 410


def test_the_same_submission_from_another_browser_is_not_merged_either(client):
    data = booking_answers()
    walk(client, data)
    walk(Client(), data)
    assert ConsultationRequest.objects.count() == 2


def test_the_same_submission_again_from_the_same_browser_is_one_request(client):
    data = booking_answers()
    first = walk(client, data)
    second = walk(client, data)
    assert ConsultationRequest.objects.count() == 1
    assert first["Location"] == second["Location"]
    assert client.get(second["Location"]).status_code == 200


def test_the_confirmation_page_opens_only_in_the_sending_browser_and_only_for_a_while(client, settings):
    response = walk(client, booking_answers())
    url = response["Location"]
    assert client.get(url).status_code == 200
    # A bare token, from anywhere else, opens nothing.
    page = Client().get(url)
    assert page.status_code == 410
    assert not re.search(r"KC-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", page.content.decode())
    settings.CONSULTATION_CONFIRMATION_MAX_AGE = -1
    assert client.get(url).status_code == 410


def test_an_old_status_link_does_not_open_the_confirmation_page(client):
    from django.core import signing

    from appointments.models import status_link_signer

    walk(client, booking_answers())
    consultation_request = ConsultationRequest.objects.get()
    legacy = status_link_signer().sign(consultation_request.confirmation_token)
    status_page = Client().get(f"/consultation/status/{legacy}/")
    assert status_page.status_code == 200
    token = signing.TimestampSigner(salt=status_link_signer().salt).unsign(legacy)
    assert Client().get(f"/consultation/received/{token}/").status_code == 410


def test_head_is_answered_like_get(client):
    response = client.head(FORM_URL)
    assert response.status_code == 200
