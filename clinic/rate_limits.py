"""Rate limits by client address, counted in the shared cache: one Redis round trip a check.

A rate is ``"count/period"``, the period a unit (``s``, ``m``, ``h``, ``d``) with an optional
number before it: ``"5/10m"`` allows five requests in each ten minutes. Windows are fixed, starting
at multiples of the period, so a client may send up to twice the count across a window's edge.

A client is its address (``clinic.network.client_ip``); an IPv6 client is its /64 network, which
one host or household usually has whole, so that it cannot step round a limit by changing address.

A limit that cannot count (the cache is down) lets the request through: a patient in crisis must
never be refused because the cache is down (``clinic.cache`` logs the outage once). Spam is still
caught by the honeypot, and a resubmitted form still makes one request (its one-time token).
"""

import ipaddress
import re
import time

from django.core.cache import cache
from django.utils.crypto import salted_hmac

from .network import client_ip

RATE_RE = re.compile(r"^(\d+)/([1-9]\d*)?([smhd])$", re.ASCII)
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"5/10m"`` → ``(5, 600)``: requests allowed, and the window's length in seconds."""
    match = RATE_RE.match(rate)
    if match is None:
        raise ValueError(f"“{rate}” is not a rate such as 5/10m")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * UNIT_SECONDS[unit]


def client(request) -> str:
    """Who the limits count: the client's address, or its /64 network for IPv6."""
    value = client_ip(request) or ""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return value  # Not an address (a Unix socket's empty one): counted as it is.
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def is_limited(request, *, group: str, rate: str) -> bool:
    """Count this request from its client in ``group``; whether it is over ``rate``."""
    allowed, period = parse_rate(rate)
    window = int(time.time()) // period
    # Keyed by the site's secret: the cache holds no client's address, nor one a guess could find.
    key = salted_hmac("clinic.rate-limits", client(request)).hexdigest()[:32]
    count = cache.count(f"rate:{group}:{period}:{window}:{key}", timeout=period)
    return count is not None and count > allowed
