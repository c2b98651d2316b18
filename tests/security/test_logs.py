"""No log line, access log or Django's, carries a secret link or a forged line.

Requests go to every secret-bearing URL (``clinic.redaction.SECRET_URL_NAMES``) of a server run as
production runs it, in every way they can fail, and the server's whole output is then read.
"""

import logging
import time

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.test import RequestFactory
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from appointments.models.requests import status_link_signer
from clinic.redaction import SECRET_URL_NAMES, Formatter
from tests.factories import make_request
from tests.servers import SECRET_KEY, production_env

from .conftest import Browser, database_url, serve

pytestmark = pytest.mark.django_db(transaction=True)


class OldSigner(signing.TimestampSigner):
    def timestamp(self):
        return signing.b62_encode(int(time.time()) - 400 * 24 * 3600)


@pytest.fixture
def secrets(settings):
    """A request and a staff login, and the secret-bearing paths that reach them (and fail to)."""
    # Signed with the servers' key, so that the good links work there.
    settings.SECRET_KEY = SECRET_KEY
    consultation_request = make_request()
    token = consultation_request.confirmation_token
    status = consultation_request.get_status_url().split("/")[-2]
    expired = OldSigner(salt=status_link_signer().salt).sign(consultation_request.link_value)
    legacy = status_link_signer().sign(token)
    user = get_user_model().objects.create_user("logcheck", "logcheck@clinic.example", is_staff=True)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    reset = default_token_generator.make_token(user)
    secret_values = [token, status, expired, legacy, reset, status.rsplit(":", 2)[0]]
    paths = {
        "appointments:request_received": [
            f"/consultation/received/{token}/",
            f"/consultation/received/{token}",
        ],
        "appointments:request_status": [
            f"/consultation/status/{status}/",
            f"/consultation/status/{status}",
            f"/consultation/status/{expired}/",
            f"/consultation/status/{legacy}/",
            f"/consultation/status/{status[:-2]}xx/",
        ],
        "staff_set_password": [
            f"/admin/account/set-password/{uid}/{reset}/",
            f"/admin/account/set-password/{uid}/{reset[:-2]}xx/",
        ],
    }
    return secret_values, paths


def test_every_secret_bearing_url_is_tested_here(secrets):
    _values, paths = secrets
    assert set(paths) == SECRET_URL_NAMES


@pytest.fixture
def server(tmp_path):
    env = production_env(
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url(),
        REDIS_URL=settings.CACHES["default"]["LOCATION"],
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",
        LOG_LEVEL="INFO",
    )
    log = tmp_path / "server.log"
    with serve(env, log_path=log, extra_args=["-c", "python:clinic.gunicorn"]) as base:
        yield base, log


def test_no_log_line_carries_a_secret_link(server, secrets):
    base, log = server
    values, paths = secrets
    browser = Browser()
    statuses = {}
    for path_list in paths.values():
        for path in path_list:
            statuses[path] = browser.request(base + path)[0]
            # A POST without a CSRF token: Django logs the refusal with the path.
            assert Browser().request(base + path, data={"cancel": "1"})[0] in {301, 403}
    received = paths["appointments:request_received"][0]
    status, _without_slash, expired, legacy, forged = paths["appointments:request_status"]
    assert statuses[received] == 410
    assert statuses[status] == 200 and statuses[legacy] == 200
    assert statuses[expired] == 410 and statuses[forged] == 404
    assert statuses[paths["staff_set_password"][0]] == 302
    time.sleep(0.5)
    text = log.read_text()
    assert "/consultation/status/" in text and "/consultation/received/" in text and "set-password" in text
    assert "[redacted]" in text
    for value in values:
        assert value not in text


def test_control_characters_are_escaped_in_every_log_line(server):
    base, log = server
    browser = Browser()
    assert browser.request(base + "/learn/%0A10.9.9.9%20FORGED/")[0] == 404
    assert browser.request(base + "/learn/%00nul%0D/")[0] == 404
    time.sleep(0.5)
    text = log.read_text()
    assert "\x00" not in text and "\r" not in text
    forged = [line for line in text.splitlines() if "FORGED" in line]
    assert forged, text[-2000:]
    for line in forged:
        assert "\\n10.9.9.9 FORGED" in line
        assert not line.startswith("10.9.9.9")


def test_djangos_loggers_redact_and_escape_too(secrets):
    values, paths = secrets
    formatter = Formatter("{levelname} {message}", style="{")
    for path in [path for path_list in paths.values() for path in path_list] + ["/learn/\nFORGED/"]:
        request = RequestFactory().get(path)
        record = logging.LogRecord(
            "django.request", logging.WARNING, __file__, 1, "Not Found: %s", (path,), None
        )
        record.request = request
        line = formatter.format(record)
        assert "\n" not in line
        for value in values:
            assert value not in line


def test_the_admin_offers_no_way_to_a_patients_page(client, secrets):
    from tests.factories import log_in_verified, make_staff

    consultation_request = make_request()
    log_in_verified(client, make_staff("clinician"))
    page = client.get(
        reverse("admin:appointments_consultationrequest_change", args=[consultation_request.pk])
    )
    assert consultation_request.confirmation_token not in page.content.decode()
    from django.contrib.contenttypes.models import ContentType

    content_type = ContentType.objects.get_for_model(consultation_request)
    response = client.get(f"/admin/r/{content_type.pk}/{consultation_request.pk}/")
    assert response.status_code == 404
    assert consultation_request.confirmation_token not in response.get("Location", "")
