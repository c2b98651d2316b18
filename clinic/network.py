"""Who is asking: the client's address, for per-client rate limits and login lockouts.

And whether the app can tell its clients apart at all. With TRUSTED_PROXY_COUNT wrong for the
proxies in front (0 behind nginx, or 1 behind a balancer and a plain proxy that appends the
balancer's address), every request seems to come from one proxy: one login lockout and one booking
limit for everyone. So the requests whose address the app counts (``client_ip``) are noted in the
shared cache, the last ``SAMPLE_SIZE`` of them, each as a keyed hash of its address (never the
address); when nearly all of them share one address, a warning is logged (at most once an hour)
and /readyz says "degraded" (``clinic.health``).
"""

import collections
import ipaddress
import logging
import threading

from django.conf import settings
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.utils.crypto import salted_hmac

logger = logging.getLogger(__name__)

# The requests judged: the last this many whose client address was counted, within a day.
SAMPLE_SIZE = 50
SAMPLE_SECONDS = 24 * 3600
# The share of those from one address that means the app cannot tell its clients apart.
ONE_ADDRESS_SHARE = 0.9
WARNING_INTERVAL_SECONDS = 3600
SAMPLE_KEY = "client-addresses"

# The address counted in the request this thread is serving, until the request is finished.
_pending = threading.local()


def _bare_address(entry):
    """An X-Forwarded-For entry as a bare IP address, or None when it is not one.

    Some balancers append the port (``1.2.3.4:5678``, ``[2001:db8::1]:443``); some write
    ``unknown`` when they could not tell.
    """
    entry = entry.strip()
    if entry.startswith("["):
        entry = entry[1:].partition("]")[0]
    elif entry.count(":") == 1:
        entry = entry.partition(":")[0]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return None


def client_ip(request):
    """The client's address (see ``forwarded_client_ip``), noted for the check of the addresses."""
    address = forwarded_client_ip(request)
    # Written to the cache once the response has gone (``_note_request``), not on the way: a rate
    # limit's check stays one round trip.
    _pending.address = address or ""
    return address


def forwarded_client_ip(request):
    """The client's address as the clinic's own load balancer saw it.

    The balancer appends the address it received the connection from to X-Forwarded-For;
    entries to the left of the ones our proxies added can be forged by the client, so only the
    entry ``TRUSTED_PROXY_COUNT`` places from the right is used. Without trusted proxies, or
    when that entry is not an address, the connection's own address counts. Behind
    deploy/nginx.conf the header holds one entry, the client nginx found: the count is 1.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= count and (address := _bare_address(forwarded[-count])):
            return address
    return request.META.get("REMOTE_ADDR")


def _forget_address(**kwargs):
    _pending.__dict__.pop("address", None)


def _note_request(**kwargs):
    address = _pending.__dict__.pop("address", None)
    if address is not None:
        note_client_address(address)


request_started.connect(_forget_address, dispatch_uid="clinic.network.forget_address")
request_finished.connect(_note_request, dispatch_uid="clinic.network.note_request")


def _slot_key(number):
    return f"{SAMPLE_KEY}:{number % SAMPLE_SIZE}"


def note_client_address(address):
    """Count one request from ``address`` among the recent ones; say so when nearly all share one."""
    number = cache.count(f"{SAMPLE_KEY}:next", timeout=SAMPLE_SECONDS)
    if number is None:
        return  # No cache: nothing to judge by.
    digest = salted_hmac("clinic.client-addresses", address).hexdigest()[:16]
    cache.set(_slot_key(number), digest, SAMPLE_SECONDS)
    if number % SAMPLE_SIZE == 0:  # Judged once every SAMPLE_SIZE requests.
        requests, from_one = recent_client_addresses()
        if one_address_for_all(requests, from_one) and cache.add(
            f"{SAMPLE_KEY}:warned", True, WARNING_INTERVAL_SECONDS
        ):
            logger.warning(
                "%d of the last %d requests whose client address counts (rate limits, login "
                "lockouts) came from one address: the app may be seeing a proxy, not its clients, "
                "so they share one limit and one lockout. Check TRUSTED_PROXY_COUNT against the "
                "proxies in front (1 behind deploy/nginx.conf with CLINIC_BALANCER set).",
                round(from_one * requests),
                requests,
            )


def recent_client_addresses():
    """How many recent requests are noted, and the share of them from their commonest address."""
    digests = list(cache.get_many([_slot_key(number) for number in range(SAMPLE_SIZE)]).values())
    if not digests:
        return 0, 0.0
    commonest = collections.Counter(digests).most_common(1)[0][1]
    return len(digests), commonest / len(digests)


def one_address_for_all(requests, from_one):
    """Whether enough recent requests are noted, and nearly all of them from one address."""
    return requests >= SAMPLE_SIZE and from_one >= ONE_ADDRESS_SHARE
