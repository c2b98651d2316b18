"""Rate limits count clients, not the load balancer in front of the app."""

import pytest
from django.test import RequestFactory
from django_ratelimit.core import is_ratelimited

from clinic.network import client_ip


@pytest.fixture
def behind_one_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.RATELIMIT_IP_META_KEY = "clinic.network.client_ip"


def request_from(forwarded_for, remote="10.0.0.2"):
    return RequestFactory().post("/", HTTP_X_FORWARDED_FOR=forwarded_for, REMOTE_ADDR=remote)


def test_the_balancers_entry_is_the_client(behind_one_proxy):
    assert client_ip(request_from("203.0.113.9")) == "203.0.113.9"


def test_a_forged_entry_on_the_left_is_ignored(behind_one_proxy):
    assert client_ip(request_from("198.51.100.1, 203.0.113.9")) == "203.0.113.9"


def test_without_the_header_the_connection_address_counts(behind_one_proxy):
    request = RequestFactory().post("/", REMOTE_ADDR="192.0.2.7")
    assert client_ip(request) == "192.0.2.7"


def test_clients_behind_one_balancer_have_separate_limits(behind_one_proxy):
    def limited(request):
        return is_ratelimited(request, group="t", key="ip", rate="1/m", increment=True)

    assert not limited(request_from("203.0.113.9"))
    assert limited(request_from("203.0.113.9"))
    assert not limited(request_from("203.0.113.10"))
