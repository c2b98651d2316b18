"""The library's stored pages, served before the middlewares a public page never needs."""

from django.conf import settings
from django.core.exceptions import DisallowedHost

from . import views


def serve_kept_pages(get_response):
    """Send a public page this worker keeps (see ``views.cached_page``) at once, to a visitor without
    a session: the page the view would send, without the session, CSRF, auth, messages and staff
    middlewares, whose work a public page never uses.

    Everyone else goes the whole way: a visitor with a session (staff, whose idle timeout each
    request renews), a query string (a search), another method, a host the site does not serve.
    """

    def middleware(request):
        if (
            request.method in ("GET", "HEAD")
            and not request.META.get("QUERY_STRING")
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and _host_allowed(request)
        ):
            response = views.kept_page(request)
            if response is not None:
                return response
        return get_response(request)

    return middleware


def _host_allowed(request):
    try:
        request.get_host()
    except DisallowedHost:
        return False
    return True
