"""Rate limits, counted in the shared cache: one Redis round trip a count.

A rate is ``"count/period"``, the period a unit (``s``, ``m``, ``h``, ``d``) with an optional
number before it: ``"5/10m"`` allows five requests in each ten minutes. Windows are fixed, starting
at multiples of the period (a day's at midnight UTC), so a client may send up to twice the count
across a window's edge.

A client is its address (``clinic.network.client_ip``); an IPv6 client is its /64 network, which
one host or household usually has whole, so that it cannot step round a limit by changing address.
An IPv6 client is counted in its /48 as well, with a looser limit (``RATE_LIMIT_IPV6_48_MULTIPLIER``
times the count): a /48 holds 65,536 /64s, and one site or one rented server often has it whole.

Other things are counted the same way (``count``): an e-mail address or a phone number a booking
gives, or the whole clinic (a ceiling). Every key holds an HMAC keyed by the site's secret, never
the address, e-mail or number itself, nor one a guess could find.

A limit that cannot count (the cache is down) lets the request through: a patient in crisis must
never be refused because the cache is down (``clinic.cache`` logs the outage once). Spam is still
caught by the honeypot, and a resubmitted form still makes one request (its one-time token).
"""

import contextlib
import ipaddress
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import salted_hmac

from .network import client_ip

RATE_RE = re.compile(r"\A(\d+)/([1-9]\d*)?([smhd])\Z", re.ASCII)
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The network an IPv6 client is counted in besides its /64, with a looser limit.
IPV6_SITE_PREFIX = 48


def parse_rate(rate: str) -> tuple[int, int]:
    """``"5/10m"`` → ``(5, 600)``: requests allowed, and the window's length in seconds."""
    match = RATE_RE.match(rate)
    if match is None:
        raise ValueError(f"“{rate}” is not a rate such as 5/10m")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * UNIT_SECONDS[unit]


def _networks(request) -> list[str]:
    """Who the limits count, the closest first: the address, or for IPv6 its /64 and its /48."""
    value = client_ip(request) or ""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return [value]  # Not an address (a Unix socket's empty one): counted as it is.
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return [str(address.ipv4_mapped)]
        return [
            str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
            for prefix in (64, IPV6_SITE_PREFIX)
        ]
    return [str(address)]


def client(request) -> str:
    """Who the limits count: the client's address, or its /64 network for IPv6."""
    return _networks(request)[0]


def digest(value: str) -> str:
    """What a key holds of a counted value: an HMAC keyed by the site's secret."""
    return salted_hmac("clinic.rate-limits", value).hexdigest()[:32]


def client_key(request) -> str:
    """The client as the limits count it, in a form that may be kept (a booking draft keeps it, so
    that what it becomes counts against its client later): the digest of its address (its /64),
    and for IPv6 a space and the digest of its /48. No address can be read back from it."""
    return " ".join(digest(network) for network in _networks(request))


@dataclass(frozen=True)
class Counted:
    """One count made: whether it went over its limit, and the cache keys it added one to."""

    over: bool
    keys: tuple[str, ...] = ()

    def refund(self) -> None:
        """Take the count back (what it counted did not happen: nothing was saved)."""
        for key in self.keys:
            # ValueError: the window ended meanwhile, and its counter is gone.
            with contextlib.suppress(ValueError):
                cache.decr(key)


NOT_COUNTED = Counted(over=False)


def _count_digest(group, value_digest, allowed, period, at):
    window = int(time.time() if at is None else at) // period
    key = f"rate:{group}:{period}:{window}:{value_digest}"
    count = cache.count(key, timeout=period)
    if count is None:
        return NOT_COUNTED  # The cache is down: nothing counted, nothing refused.
    return Counted(over=count > allowed, keys=(key,))


def joined(*counts: Counted) -> Counted:
    """Several counts as one: over if any is, refunded together."""
    return Counted(
        over=any(counted.over for counted in counts),
        keys=tuple(key for counted in counts for key in counted.keys),
    )


def count(group: str, value: str, *, rate: str, at: float | None = None) -> Counted:
    """Count one of ``value`` (an e-mail address, a phone number, ``"clinic"`` for a clinic-wide
    ceiling) in ``group``, in the window of ``at`` (a Unix time; now if None); whether it is over
    ``rate``."""
    allowed, period = parse_rate(rate)
    return _count_digest(group, digest(value), allowed, period, at)


def count_client_key(key: str, *, group: str, rate: str, at: float | None = None) -> Counted:
    """Count one request of the client ``key`` (``client_key``) in ``group``: its address or /64 at
    ``rate``, and its IPv6 /48, if it has one, at ``RATE_LIMIT_IPV6_48_MULTIPLIER`` times the count."""
    allowed, period = parse_rate(rate)
    digests = key.split()
    if not digests:
        return NOT_COUNTED  # A draft kept from before drafts knew their client.
    counted = _count_digest(group, digests[0], allowed, period, at)
    if len(digests) == 1:
        return counted
    site = _count_digest(group, digests[1], allowed * settings.RATE_LIMIT_IPV6_48_MULTIPLIER, period, at)
    return joined(counted, site)


def is_limited(request, *, group: str, rate: str) -> bool:
    """Count this request from its client in ``group``; whether it is over ``rate`` (or its IPv6
    /48 over the looser limit)."""
    return count_client_key(client_key(request), group=group, rate=rate).over
