"""Response headers Django has no setting for, the site's page for a refused method, and for a lost database."""

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import patch_cache_control

from . import details

logger = logging.getLogger(__name__)


def security_headers(get_response):
    """Add Permissions-Policy and Cross-Origin-Resource-Policy to every response."""

    def middleware(request):
        response = get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        response.headers.setdefault(
            "Cross-Origin-Resource-Policy", settings.SECURE_CROSS_ORIGIN_RESOURCE_POLICY
        )
        return response

    return middleware


def branded_method_not_allowed(get_response):
    """Show the site's page on a 405: Django's ``require_http_methods`` answers with an empty body."""

    def middleware(request):
        response = get_response(request)
        if response.status_code == 405 and not response.streaming and not response.content:
            branded = render(request, "405.html", status=405)
            branded["Allow"] = response["Allow"]
            return branded
        return response

    return middleware


def _clinic_facts():
    # The database may be what is gone: the facts from the cache, or else the name and phone from
    # the settings, so the page always shows a number to call.
    try:
        return details.get()
    except Exception:  # noqa: BLE001 - any failure here must still give the patient the page.
        return details._from_settings()


class DatabaseUnavailableMiddleware:
    """A database that is gone, or too slow (``lock_timeout``/``statement_timeout``), gets a 503 page.

    The patient is told that nothing was saved, to try again in a minute or to call; every page
    shows the crisis lines. The page is rendered without the request: its context (the session, the
    messages) would ask the same database again.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        # The class only: a database error's text can quote a patient's row.
        logger.error("Database unavailable or too slow (%s) on %s", type(exception).__name__, request.path)
        return unavailable_response()


def unavailable_response():
    """The "try again or call" page (503), rendered without the request and, when it is gone, without
    the database."""
    content = render_to_string("503.html", {"clinic": _clinic_facts()})
    response = HttpResponse(content, status=503)
    response["Retry-After"] = "60"
    patch_cache_control(response, no_store=True)
    return response


def language_from_path(get_response):
    """Activate the language the URL names (``/es/...``), or English: nothing else chooses it.

    Django's ``LocaleMiddleware`` would read the Accept-Language header and a cookie for pages
    without a prefix, and add ``Vary: Accept-Language`` to them: a shared cache would then keep a
    copy of each English page per browser language, and a browser could be sent away from the
    address it asked for. Here English pages keep their addresses, unchanged and unvaried.
    """

    def middleware(request):
        language = translation.get_language_from_path(request.path_info) or settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            return get_response(request)
        finally:
            translation.deactivate()

    return middleware
