"""A link made from another link never outlives it (issue 25, finding 3).

The status page shows an intake link, and the intake's last page a status link. Each is made with
the end of the link the page was reached by, so opening one now and then renews nothing: when the
first link expires, every link made from it has expired too, and says so as any expired link does.
Links that were made on their own (the e-mails') keep their whole lifetime, old ones included.
"""

import datetime
import re

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from tests.factories import make_request

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
SECOND = datetime.timedelta(seconds=1)
STATUS_AGE = datetime.timedelta(seconds=settings.CONSULTATION_STATUS_LINK_MAX_AGE)
INTAKE_AGE = datetime.timedelta(seconds=settings.CONSULTATION_INTAKE_LINK_MAX_AGE)


@pytest.fixture
def consultation_request(clinic_facts):
    return make_request(first_name="Maria")


@pytest.fixture
def clock():
    """The clock, stopped now; ``clock.move_to(when)`` moves it."""
    with time_machine.travel(timezone.now().replace(microsecond=0), tick=False) as traveller:
        yield traveller


def intake_link_on_the_status_page(client, status_url):
    response = client.get(status_url)
    assert response.status_code == 200
    return re.search(r'href="(/consultation/intake/[^"]+/)"', response.content.decode()).group(1)


def status_link_on_the_last_page(client, intake_url):
    response = client.get(intake_url + "done/")
    assert response.status_code == 200
    return re.search(r'href="(/consultation/status/[^"]+/)"', response.content.decode()).group(1)


def assert_intake_link_expired(client, url):
    for page in [url, url + "about/", url + "done/"]:
        response = client.get(page)
        assert response.status_code == 410, page
        assert "This link has expired" in response.content.decode()


def assert_status_link_expired(client, url):
    for page in [url, url + "reschedule/", url + "cancel/"]:
        response = client.get(page)
        assert response.status_code == 410, page
        assert "This link has expired" in response.content.decode()


def test_an_intake_link_from_an_old_status_link_ends_with_it(client, consultation_request, clock):
    issued = timezone.now()
    status_url = consultation_request.get_status_url()

    clock.move_to(issued + STATUS_AGE - DAY)  # 179 days on
    intake_url = intake_link_on_the_status_page(client, status_url)
    assert client.get(intake_url).status_code == 200
    assert client.get(intake_url + "about/").status_code == 200

    clock.move_to(issued + STATUS_AGE + SECOND)
    assert_status_link_expired(client, status_url)
    assert_intake_link_expired(client, intake_url)
    # Nor may it be posted to.
    response = client.post(intake_url + "about/", {"episode": "stable"})
    assert response.status_code == 410
    consultation_request.refresh_from_db()
    assert consultation_request.episode != "stable"


def test_a_status_link_from_an_old_intake_link_ends_with_it(client, consultation_request, clock):
    issued = timezone.now()
    intake_url = consultation_request.get_intake_url()

    clock.move_to(issued + INTAKE_AGE - DAY)  # 59 days on
    status_url = status_link_on_the_last_page(client, intake_url)
    assert client.get(status_url).status_code == 200

    clock.move_to(issued + INTAKE_AGE + SECOND)
    assert_intake_link_expired(client, intake_url)
    assert_status_link_expired(client, status_url)
    response = client.post(status_url)  # cancelling the request
    assert response.status_code == 410
    consultation_request.refresh_from_db()
    assert consultation_request.status == "new"


def test_links_made_from_links_made_from_links_end_with_the_first(client, consultation_request, clock):
    issued = timezone.now()
    status_url = consultation_request.get_status_url()
    clock.move_to(issued + STATUS_AGE - 2 * DAY)
    intake_url = intake_link_on_the_status_page(client, status_url)
    clock.move_to(issued + STATUS_AGE - DAY)
    status_again = status_link_on_the_last_page(client, intake_url)
    intake_again = intake_link_on_the_status_page(client, status_again)

    clock.move_to(issued + STATUS_AGE + SECOND)
    for url in [status_url, status_again]:
        assert_status_link_expired(client, url)
    for url in [intake_url, intake_again]:
        assert_intake_link_expired(client, url)


def test_a_link_from_a_young_link_keeps_its_own_lifetime(client, consultation_request, clock):
    """The status link has months left: the intake link made from it lasts its own 60 days."""
    issued = timezone.now()
    status_url = consultation_request.get_status_url()
    clock.move_to(issued + DAY)
    intake_url = intake_link_on_the_status_page(client, status_url)

    clock.move_to(issued + DAY + INTAKE_AGE - SECOND)
    assert client.get(intake_url).status_code == 200
    clock.move_to(issued + DAY + INTAKE_AGE + SECOND)
    assert_intake_link_expired(client, intake_url)
    assert client.get(status_url).status_code == 200


def test_the_emails_links_keep_their_whole_lifetime(client, consultation_request, clock):
    """Links already in patients' e-mails (made on their own, as before) open until their own end."""
    from appointments.models import intake_link_signer, status_link_signer

    issued = timezone.now()
    status_url = f"/consultation/status/{status_link_signer().sign(consultation_request.link_value)}/"
    intake_url = f"/consultation/intake/{intake_link_signer().sign(consultation_request.link_value)}/"
    assert status_url == consultation_request.get_status_url()
    assert intake_url == consultation_request.get_intake_url()

    clock.move_to(issued + INTAKE_AGE - SECOND)
    assert client.get(intake_url + "about/").status_code == 200
    clock.move_to(issued + INTAKE_AGE + SECOND)
    assert_intake_link_expired(client, intake_url)
    clock.move_to(issued + STATUS_AGE - SECOND)
    assert client.get(status_url).status_code == 200
    clock.move_to(issued + STATUS_AGE + SECOND)
    assert_status_link_expired(client, status_url)


def test_the_end_a_link_carries_cannot_be_changed(client, consultation_request, clock):
    issued = timezone.now()
    status_url = consultation_request.get_status_url()
    clock.move_to(issued + STATUS_AGE - DAY)
    intake_url = intake_link_on_the_status_page(client, status_url)
    signed = intake_url.split("/")[-2]
    value, timestamp, signature = signed.split(":")
    reference, digest, _end = value.split(".")
    for forged in [f"{reference}.{digest}", f"{reference}.{digest}.zzzzzz", f"{value}x"]:
        url = f"/consultation/intake/{forged}:{timestamp}:{signature}/"
        assert client.get(url).status_code == 404, forged
