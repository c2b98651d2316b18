"""Rate limits by client address: one Redis round trip a check, windows that end, and none while
the cache is down."""

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
    "rate", ["", "5", "5/", "5/10x", "m/5", "-1/m", "5/m ", "five/m", "5/0m", "5/00s", "٥/m", "5/m\n"]
)
def test_a_rate_that_is_not_one_is_refused(rate):
    with pytest.raises(ValueError, match="is not a rate"):
        parse_rate(rate)


def test_each_client_and_group_has_its_own_count():
    request = from_address("192.0.2.1")
    assert [is_limited(request, group="a", rate="2/h") for _ in range(3)] == [False, False, True]
    assert not is_limited(request, group="b", rate="2/h")
    assert not is_limited(from_address("192.0.2.2"), group="a", rate="2/h")


def test_a_count_ends_with_its_window(time_machine):
    now = 1_800_000_000  # A multiple of 60: a minute's window starts here.
    time_machine.move_to(now + 59, tick=False)
    request = from_address("192.0.2.1")
    assert not is_limited(request, group="a", rate="1/m")
    assert is_limited(request, group="a", rate="1/m")
    time_machine.move_to(now + 60, tick=False)
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


def test_an_ipv6_client_is_counted_in_its_48_too_with_a_looser_limit(settings):
    """A /48 holds 65,536 /64s: each /64 a client of its own, and the /48 at four times the count."""
    settings.RATE_LIMIT_IPV6_48_MULTIPLIER = 4
    # Eight /64s of one /48, one request each: each /64 is within its 2, the /48 reaches its 8.
    first_eight = [is_limited(from_address(f"2001:db8:aa:{n:x}::1"), group="a", rate="2/h") for n in range(8)]
    assert first_eight == [False] * 8
    # A ninth /64 of that /48 is refused at its first request, and so is a second request of the first.
    assert is_limited(from_address("2001:db8:aa:ff::1"), group="a", rate="2/h")
    assert is_limited(from_address("2001:db8:aa:0::2"), group="a", rate="2/h")
    # The next /48 along is another client; IPv4 has no wider count.
    assert not is_limited(from_address("2001:db8:ab:0::1"), group="a", rate="2/h")
    assert [is_limited(from_address("192.0.2.7"), group="a", rate="2/h") for _ in range(3)] == [
        False,
        False,
        True,
    ]


def test_a_kept_client_key_names_no_address_and_counts_as_its_client(settings):
    from clinic.rate_limits import client_key, count_client_key

    request = from_address("2001:db8:aa:1::1")
    key = client_key(request)
    assert "2001" not in key and "db8" not in key
    assert len(key.split()) == 2  # The /64 and the /48.
    assert len(client_key(from_address("192.0.2.1")).split()) == 1
    # Counted later from the key (a draft keeps it), it is the same count as the client's own.
    assert not is_limited(request, group="a", rate="2/h")
    assert not count_client_key(key, group="a", rate="2/h").over
    assert is_limited(request, group="a", rate="2/h")
    assert not count_client_key("", group="a", rate="0/h").over  # None kept: nothing to count.


def test_a_count_taken_back_leaves_room_for_another():
    from clinic.rate_limits import count

    assert not count("a", "maria@example.com", rate="1/h").over
    refused = count("a", "maria@example.com", rate="1/h")
    assert refused.over
    refused.refund()
    assert count("a", "maria@example.com", rate="1/h").over  # The first still counts.
    first = count("b", "x", rate="1/h")
    first.refund()
    assert not count("b", "x", rate="1/h").over
    client = cache._cache.get_client()
    assert not [key for key in client.keys(cache.make_key("rate:*")) if b"maria" in key]
