"""Behind a load balancer and nginx (deploy/nginx.conf) with TRUSTED_PROXY_COUNT=1, the app sees
each client's own address; and when nearly every recent request seems to come from one address,
the operator hears of it (a warning in the log, and /readyz "degraded")."""

import json
import logging

import pytest

from appointments.jobs import worker_heartbeat_record
from clinic.network import SAMPLE_SIZE

from .conftest import Visitor, raw_request

pytestmark = pytest.mark.slow

LOGIN = "/admin/account/login/"


def attempt(visitor):
    """A wrong password at the staff login: the status (429 when this client is over its limit)."""
    data = {"login_view-current_step": "auth", "auth-username": "nobody", "auth-password": "wrong"}
    return visitor.post_form(LOGIN, data).status


@pytest.fixture
def behind_the_balancer(proxy, settings):
    """The README's topology: balancer (here, the test's own 127.0.0.1) → nginx → the app."""
    settings.TRUSTED_PROXY_COUNT = 1
    return proxy


def test_two_clients_behind_the_balancer_have_a_limit_each(behind_the_balancer, settings):
    settings.STAFF_LOGIN_RATE_LIMIT = "1/10m"
    first = Visitor(behind_the_balancer, forwarded_for="203.0.113.9")
    assert attempt(first) == 200
    assert attempt(first) == 429
    # Another client of the same balancer is not the first one.
    assert attempt(Visitor(behind_the_balancer, forwarded_for="203.0.113.10")) == 200
    # What the client wrote itself, left of the address the balancer appended, changes nothing.
    forged = Visitor(behind_the_balancer, forwarded_for="203.0.113.10, 198.51.100.7, 203.0.113.9")
    assert attempt(forged) == 429


def test_a_client_that_reaches_nginx_directly_cannot_choose_its_address(behind_the_balancer, settings):
    settings.STAFF_LOGIN_RATE_LIMIT = "1/10m"
    # 127.0.0.2 is not the balancer: its X-Forwarded-For is its own invention.
    assert attempt(Visitor(behind_the_balancer, forwarded_for="203.0.113.20", source="127.0.0.2")) == 200
    assert attempt(Visitor(behind_the_balancer, forwarded_for="203.0.113.21", source="127.0.0.2")) == 429
    assert attempt(Visitor(behind_the_balancer, forwarded_for="203.0.113.21")) == 200


def readiness(base):
    response = raw_request(base, "GET", "/readyz")
    assert response.status == 200
    return json.loads(response.body)


def many_attempts(base, addresses):
    # Refused at once by the per-client limit, but counted: the app looked at the client's address.
    for address in addresses:
        assert attempt(Visitor(base, forwarded_for=address)) == 429


def test_distinct_clients_keep_the_site_ready(behind_the_balancer, settings, caplog):
    settings.STAFF_LOGIN_RATE_LIMIT = "0/10m"
    worker_heartbeat_record()
    caplog.set_level(logging.WARNING, logger="clinic.network")
    many_attempts(behind_the_balancer, [f"203.0.113.{number}" for number in range(SAMPLE_SIZE + 5)])
    report = readiness(behind_the_balancer)
    assert report["checks"]["client_addresses"]["state"] == "ok"
    assert report["status"] == "ok"
    assert [record for record in caplog.records if record.name == "clinic.network"] == []


def test_every_request_from_one_address_makes_the_site_degraded(proxy, settings, caplog):
    # The reviewer's mistake: the count does not match the proxies in front (here it ignores
    # nginx's X-Forwarded-For altogether), so every client is nginx.
    settings.TRUSTED_PROXY_COUNT = 0
    settings.STAFF_LOGIN_RATE_LIMIT = "0/10m"
    worker_heartbeat_record()
    caplog.set_level(logging.WARNING, logger="clinic.network")
    many_attempts(proxy, [f"203.0.113.{number}" for number in range(SAMPLE_SIZE + 5)])
    report = readiness(proxy)
    assert report["status"] == "degraded"
    check = report["checks"]["client_addresses"]
    assert check["state"] == "degraded"
    assert check["requests"] == SAMPLE_SIZE
    assert check["from_one_address"] >= 0.9
    (warning,) = [record for record in caplog.records if record.name == "clinic.network"]
    assert warning.levelno == logging.WARNING
    message = warning.getMessage()
    assert "TRUSTED_PROXY_COUNT" in message
    # The warning names no address (a patient's, perhaps): not nginx's, not a client's.
    assert "127.0.0.1" not in message and "203.0.113" not in message
    # The site stays up: "degraded" is the operator's, the balancer still sends patients here.
    assert raw_request(proxy, "GET", "/healthz").status == 200


def test_the_report_waits_for_enough_requests_to_judge(proxy, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.STAFF_LOGIN_RATE_LIMIT = "0/10m"
    many_attempts(proxy, ["203.0.113.1"] * (SAMPLE_SIZE // 2))
    check = readiness(proxy)["checks"]["client_addresses"]
    assert check["state"] == "ok"
    assert check["requests"] == SAMPLE_SIZE // 2
