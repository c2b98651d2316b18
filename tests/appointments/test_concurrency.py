"""Fifty patients pressing Send at the same moment on the live server."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from appointments.models import ConsultationRequest, OutboundEmail
from tests.booking import CHECK_URL, send_data
from tests.factories import booking_answers
from tests.security.conftest import Browser

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CLIENTS = 50


def send_one(base_url, barrier):
    """One patient: the steps walked in their own browser, then Send at the barrier."""
    browser = Browser()
    data = booking_answers()
    csrf, token = browser.form(base_url + "/consultation/", data)
    send = {**send_data(data), "csrfmiddlewaretoken": csrf, "form_token": token}
    barrier.wait(timeout=60)
    status, headers, _page = browser.request(base_url + CHECK_URL, data=send, headers={"Referer": base_url})
    return status, headers["Location"]


def test_fifty_concurrent_submissions_make_fifty_requests_with_distinct_references(live_server, settings):
    settings.CONSULTATION_RATE_LIMIT = "1000/m"
    settings.CONSULTATION_ATTEMPT_RATE_LIMIT = "1000/m"
    settings.CONSULTATION_EMAIL_RATE_LIMIT = settings.CONSULTATION_PHONE_RATE_LIMIT = "1000/m"
    barrier = threading.Barrier(CLIENTS)
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(lambda _: send_one(live_server.url, barrier), range(CLIENTS)))

    assert all(status == 302 for status, _url in results)
    assert all("/consultation/received/" in url for _status, url in results)
    assert len({url for _status, url in results}) == CLIENTS
    assert ConsultationRequest.objects.count() == CLIENTS
    references = set(ConsultationRequest.objects.values_list("reference", flat=True))
    assert len(references) == CLIENTS
    assert OutboundEmail.objects.count() == 2 * CLIENTS
