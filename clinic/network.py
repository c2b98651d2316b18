"""Who is asking: the client's address, for per-client rate limits."""

from django.conf import settings


def client_ip(request):
    """The client's address as the clinic's own load balancer saw it.

    The balancer appends the address it received the connection from to X-Forwarded-For;
    entries to the left of the ones our proxies added can be forged by the client, so only the
    entry ``TRUSTED_PROXY_COUNT`` places from the right is used.
    """
    forwarded = [
        part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
    ]
    if len(forwarded) >= settings.TRUSTED_PROXY_COUNT:
        return forwarded[-settings.TRUSTED_PROXY_COUNT]
    return request.META["REMOTE_ADDR"]
