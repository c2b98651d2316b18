"""Rate limits count clients, not the load balancer in front of the app."""

import pytest
from django.test import RequestFactory

from clinic.network import client_ip
from clinic.rate_limits import is_limited


@pytest.fixture
def behind_one_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1


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
        return is_limited(request, group="t", rate="1/h")

    assert not limited(request_from("203.0.113.9"))
    assert limited(request_from("203.0.113.9"))
    assert not limited(request_from("203.0.113.10"))


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("1.2.3.4:5678", "1.2.3.4"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("198.51.100.1, 203.0.113.9:443", "203.0.113.9"),
        ("unknown", "10.0.0.2"),
        ("203.0.113.9, unknown", "10.0.0.2"),
        ("", "10.0.0.2"),
    ],
)
def test_entries_with_a_port_or_no_address_are_read_sanely(behind_one_proxy, forwarded, expected):
    assert client_ip(request_from(forwarded)) == expected


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request_from("203.0.113.9")) == "10.0.0.2"
