"""Who is asking: the client's address, for per-client rate limits and login lockouts."""

import ipaddress

from django.conf import settings


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
    """The client's address as the clinic's own load balancer saw it.

    The balancer appends the address it received the connection from to X-Forwarded-For;
    entries to the left of the ones our proxies added can be forged by the client, so only the
    entry ``TRUSTED_PROXY_COUNT`` places from the right is used. Without trusted proxies, or
    when that entry is not an address, the connection's own address counts.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= count and (address := _bare_address(forwarded[-count])):
            return address
    return request.META.get("REMOTE_ADDR")
