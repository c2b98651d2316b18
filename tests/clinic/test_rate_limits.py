"""Rate limits by client address: one Redis round trip a check, windows that end, and none while
the cache is down."""

import time

import pytest
from django.core.cache import cache
from django.test import RequestFactory

from clinic.rate_limits import is_limited, parse_rate
from tests.servers import free_port


def from_address(address):
    return RequestFactory().post("/", REMOTE_ADDR=address)


@pytest.mark.parametrize(
    ("rate", "expected"),
    [("5/10m", (5, 600)), ("30/m", (30, 60)), ("60/10m", (60, 600)), ("1/h", (1, 3600)), ("0/s", (0, 1))],
)
def test_a_rate_is_a_count_in_a_period(rate, expected):
    assert parse_rate(rate) == expected


@pytest.mark.parametrize(
    "rate", ["", "5", "5/", "5/10x", "m/5", "-1/m", "5/m ", "five/m", "5/0m", "5/00s", "٥/m"]
)
def test_a_rate_that_is_not_one_is_refused(rate):
    with pytest.raises(ValueError, match="is not a rate"):
        parse_rate(rate)


def test_each_client_and_group_has_its_own_count():
    request = from_address("192.0.2.1")
    assert [is_limited(request, group="a", rate="2/h") for _ in range(3)] == [False, False, True]
    assert not is_limited(request, group="b", rate="2/h")
    assert not is_limited(from_address("192.0.2.2"), group="a", rate="2/h")


def test_a_count_ends_with_its_window(monkeypatch):
    now = 1_800_000_000  # A multiple of 60: a minute's window starts here.
    monkeypatch.setattr(time, "time", lambda: now + 59)
    request = from_address("192.0.2.1")
    assert not is_limited(request, group="a", rate="1/m")
    assert is_limited(request, group="a", rate="1/m")
    monkeypatch.setattr(time, "time", lambda: now + 60)
    assert not is_limited(request, group="a", rate="1/m")


def test_a_check_is_one_round_trip_and_its_counter_expires(redis_commands):
    cache.count("warm-up", timeout=60)  # Redis learns the script (once per server).
    redis_commands.clear()
    assert not is_limited(from_address("192.0.2.1"), group="a", rate="5/10m")
    assert redis_commands == ["EVALSHA"]
    client = cache._cache.get_client()
    (key,) = client.keys(cache.make_key("rate:a:*"))
    assert 0 < client.ttl(key) <= 600
    # The address is not kept in the clear.
    assert b"192.0.2.1" not in key


def test_without_the_cache_nothing_is_limited(settings):
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5, "retry_after": 60},
        }
    }
    from django.core.cache import cache as dead

    request = from_address("192.0.2.1")
    assert dead.count("anything", timeout=60) is None
    assert not any(is_limited(request, group="a", rate="0/m") for _ in range(3))


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", True),  # one /64: one household
        ("2001:db8:1:2::1", "2001:db8:1:3::1", False),
        ("::ffff:192.0.2.1", "192.0.2.1", True),  # an IPv4 client seen through IPv6
        ("192.0.2.1", "192.0.2.2", False),
    ],
)
def test_an_ipv6_client_is_its_64_network(first, second, same):
    assert not is_limited(from_address(first), group="a", rate="1/h")
    assert is_limited(from_address(second), group="a", rate="1/h") is same


def test_a_connection_without_an_address_is_counted_not_refused():
    request = RequestFactory().post("/", REMOTE_ADDR="")
    assert [is_limited(request, group="a", rate="1/h") for _ in range(2)] == [False, True]
