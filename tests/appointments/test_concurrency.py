"""Fifty patients sending the form at the same moment to the live server."""

import http.cookiejar
import re
import threading
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from appointments.models import ConsultationRequest, OutboundEmail

from .conftest import answers

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 50


def send_one(base_url, barrier):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(base_url + "/consultation/", timeout=60).read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    token = re.search(r'name="form_token" value="([^"]+)"', form).group(1)
    data = answers(csrfmiddlewaretoken=csrf, form_token=token)
    body = urllib.parse.urlencode(data, doseq=True).encode()
    barrier.wait(timeout=60)
    request = urllib.request.Request(
        base_url + "/consultation/", data=body, headers={"Referer": base_url + "/consultation/"}
    )
    with opener.open(request, timeout=60) as response:
        return response.status, response.url


def test_fifty_concurrent_submissions_make_fifty_requests_with_distinct_references(live_server, settings):
    settings.CONSULTATION_RATE_LIMIT = "1000/m"
    settings.CONSULTATION_ATTEMPT_RATE_LIMIT = "1000/m"
    barrier = threading.Barrier(CLIENTS)
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(lambda _: send_one(live_server.url, barrier), range(CLIENTS)))

    assert all(status == 200 for status, _url in results)
    assert all("/consultation/received/" in url for _status, url in results)
    assert len({url for _status, url in results}) == CLIENTS
    assert ConsultationRequest.objects.count() == CLIENTS
    references = set(ConsultationRequest.objects.values_list("reference", flat=True))
    assert len(references) == CLIENTS
    assert OutboundEmail.objects.count() == 2 * CLIENTS
