"""Which responses a shared HTTP cache (a CDN, or nginx in front of the app) may keep, and purging it.

One place decides. A view marks its page public with ``@public_page``; the ``cache_policy``
middleware then makes the response shareable only if nothing in it is personal: a GET or HEAD
answered 200, no cookie set, no session read, no CSRF token used, no Cache-Control of the view's
own. Everything else (forms, steps, confirmation and status pages, the staff workspace, errors)
goes out ``private, no-store``.

A public page is the same for everyone who asks for its URL: it must not depend on the user, the
session, cookies or the Accept-Language header (staff previews have URLs of their own), so it
varies on nothing but Accept-Encoding.
"""

import logging
import urllib.error
import urllib.request
from functools import wraps

from django.conf import settings
from django.utils.cache import get_conditional_response, patch_cache_control, set_response_etag
from django.utils.http import parse_http_date_safe

logger = logging.getLogger(__name__)

PUBLIC_ATTRIBUTE = "public_page"
PURGE_TIMEOUT_SECONDS = 2


def public_page(view):
    """Mark a view's pages as the same for every visitor, so shared caches may keep them."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        return mark_public(view(request, *args, **kwargs))

    return wrapped


def mark_public(response):
    """Mark one response as a public page (what ``public_page`` does for a view's)."""
    setattr(response, PUBLIC_ATTRIBUTE, True)
    return response


def is_shareable(request, response):
    """Whether a shared cache may keep ``response``: a page marked public, with nothing personal in it."""
    if not getattr(response, PUBLIC_ATTRIBUTE, False) or response.has_header("Cache-Control"):
        return False
    session = getattr(request, "session", None)
    return (
        request.method in ("GET", "HEAD")
        and response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not (session is not None and session.accessed)
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
    )


def cache_policy(get_response):
    """Public pages: cacheable, validated, varying on encoding only. Everything else: private, no-store.

    Sits inside GZipMiddleware (the ETag is of the uncompressed page; GZip weakens it) and outside
    the session, locale and CSRF middlewares, whose Vary headers it replaces on public pages.
    """

    def middleware(request):
        response = get_response(request)
        if not is_shareable(request, response):
            # Kept by nobody but the visitor's own browser for this one view (a Cache-Control set
            # by the view itself, such as a search's, is only ever narrowed).
            patch_cache_control(response, private=True, no_store=True)
            return response
        response.headers["Vary"] = "Accept-Encoding"
        patch_cache_control(
            response,
            public=True,
            max_age=settings.PUBLIC_PAGE_MAX_AGE,
            s_maxage=settings.PUBLIC_PAGE_SHARED_MAX_AGE,
            stale_while_revalidate=settings.PUBLIC_PAGE_STALE_WHILE_REVALIDATE,
        )
        if not response.has_header("ETag"):
            set_response_etag(response)
        last_modified = parse_http_date_safe(response.get("Last-Modified", ""))
        return get_conditional_response(
            request, etag=response["ETag"], last_modified=last_modified, response=response
        )

    return middleware


def purge(paths):
    """Drop ``paths`` from the shared cache in front of the app, when one is configured.

    Sent as nginx's cache-purge module expects (``PURGE`` to the same path). A cache that cannot
    be reached is logged and left to expire its copies on its own (``s-maxage``).
    """
    base = settings.HTTP_CACHE_PURGE_URL.rstrip("/")
    if not base:
        return
    for path in sorted(set(paths)):
        # The settings accept only an http(s) address here.
        request = urllib.request.Request(base + path, method="PURGE")  # noqa: S310
        try:
            urllib.request.urlopen(request, timeout=PURGE_TIMEOUT_SECONDS).close()  # noqa: S310
        except urllib.error.HTTPError as error:
            if error.code != 404:  # 404: not in the cache, nothing to drop.
                logger.warning("Purging a page from the shared cache answered %s.", error.code)
        except OSError as error:
            logger.warning("The shared cache could not be purged: %s.", type(error).__name__)
            return
