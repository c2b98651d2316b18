"""Two app servers, one PostgreSQL and one Redis: the rate limit holds across both, and whatever
one server saves the other one serves."""

import re
import uuid

import pytest
import redis
from django.conf import settings

from appointments.models import ConsultationRequest, OutboundEmail
from tests.outbox import render_pending
from tests.servers import SECRET_KEY, database_url, production_env

from .conftest import Browser, marked_answers, serve

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

LIMIT = 3


@pytest.fixture
def cache_prefix():
    """A cache key prefix of the test's own on the shared Redis, emptied afterwards."""
    prefix = f"security-several-servers-{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


@pytest.fixture
def two_servers(tmp_path, cache_prefix):
    """Two gunicorn servers (two workers each), configured alike, on different ports."""
    env = production_env(
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url(),
        REDIS_URL=settings.CACHES["default"]["LOCATION"],
        CACHE_KEY_PREFIX=cache_prefix,
        CONSULTATION_RATE_LIMIT=f"{LIMIT}/10m",
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",
    )
    with (
        serve(env, log_path=tmp_path / "first.log", workers=2) as first,
        serve(env, log_path=tmp_path / "second.log", workers=2) as second,
    ):
        yield first, second


def test_the_rate_limit_counts_requests_sent_to_either_server(two_servers):
    first, second = two_servers
    assert first != second
    browser = Browser()
    statuses = []
    # The form comes from one server and goes to the other, then the other way round.
    for number in range(LIMIT + 2):
        form_server, post_server = (first, second) if number % 2 == 0 else (second, first)
        status, headers, page = browser.submit(
            f"{form_server}/consultation/",
            marked_answers(email=f"patient{number}@example.com"),
            post_url=f"{post_server}/consultation/",
        )
        statuses.append(status)
        if status == 429:
            assert "Please try again a little later" in page
            assert headers["Retry-After"]
    assert statuses == [302] * LIMIT + [429, 429]
    assert ConsultationRequest.objects.count() == LIMIT


def test_a_request_made_through_one_server_is_served_by_the_other(two_servers, settings):
    first, second = two_servers
    browser = Browser()
    status, headers, _page = browser.submit(f"{first}/consultation/", marked_answers())
    assert status == 302
    consultation_request = ConsultationRequest.objects.get()

    # The confirmation page, through the other server.
    status, _headers, page = browser.request(second + headers["Location"])
    assert status == 200
    assert consultation_request.reference in page

    # The status link from the patient's mail (signed by the mail worker with the servers' key),
    # through the second.
    settings.SECRET_KEY = SECRET_KEY
    render_pending()
    acknowledgement = OutboundEmail.objects.get(dedupe_key__endswith=":acknowledgement")
    status_path = re.search(r"/consultation/status/\S+/", acknowledgement.body).group(0)
    status, _headers, page = browser.request(second + status_path)
    assert status == 200
    assert consultation_request.reference in page
    assert "Cancel my request" in page

    # The patient cancels through the second server; the first one shows it.
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    status, _headers, _page = browser.request(second + status_path, data={"csrfmiddlewaretoken": csrf})
    assert status == 302
    status, _headers, page = browser.request(first + status_path)
    assert status == 200
    assert "Cancelled by you" in page
    consultation_request.refresh_from_db()
    assert consultation_request.status == ConsultationRequest.Status.CANCELLED_BY_PATIENT
