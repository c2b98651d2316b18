"""Rate limits by client address, counted in the shared cache: one Redis round trip a check.

A rate is ``"count/period"``, the period a unit (``s``, ``m``, ``h``, ``d``) with an optional
number before it: ``"5/10m"`` allows five requests in each ten minutes. Windows are fixed, starting
at multiples of the period, so a client may send up to twice the count across a window's edge.

A limit that cannot count (the cache is down) lets the request through: a patient in crisis must
never be refused because the cache is down (``clinic.cache`` logs the outage once). Spam is still
caught by the honeypot, and a resubmitted form still makes one request (its one-time token).
"""

import hashlib
import re
import time

from django.core.cache import cache

from .network import client_ip

RATE_RE = re.compile(r"^(\d+)/(\d*)([smhd])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"5/10m"`` → ``(5, 600)``: requests allowed, and the window's length in seconds."""
    match = RATE_RE.match(rate)
    if match is None:
        raise ValueError(f"“{rate}” is not a rate such as 5/10m")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * UNIT_SECONDS[unit]


def is_limited(request, *, group: str, rate: str) -> bool:
    """Count this request from its client's address in ``group``; whether it is over ``rate``."""
    allowed, period = parse_rate(rate)
    window = int(time.time()) // period
    # The address is hashed: the cache holds no client's address in the clear.
    client = hashlib.sha256(client_ip(request).encode()).hexdigest()[:32]
    count = cache.count(f"rate:{group}:{period}:{window}:{client}", timeout=period)
    return count is not None and count > allowed
