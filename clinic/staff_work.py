"""No staff work lost to the idle logout.

A staff session ends after ``SESSION_COOKIE_AGE`` idle seconds. What the browser posts to the
workspace after that has no user attached, so it is kept server-side for that browser (identified
by a random key in a signed cookie, set while the staff member was signed in) and handed back only
when the same user has signed in again with password and second factor: they land on the page
they were saving, the fields filled in as they left them, with a message that nothing was saved yet.
"""

import secrets

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from appointments.services.unsaved_work import (
    unsaved_staff_work_keep,
    unsaved_staff_work_left,
    unsaved_staff_work_take,
)

COOKIE_NAME = "clinic_staff_browser"
# Set while this browser has work kept: the workspace's pages look for it only then.
PENDING_COOKIE_NAME = "clinic_staff_work_pending"
SALT = "clinic.staff-work.browser"

KEPT_MESSAGE = _(
    "You were signed out after a time without activity, so your changes have not been saved yet. "
    "Sign in again to get them back."
)
RESTORED_MESSAGE = _(
    "Your changes were not saved yet: you had been signed out. They are filled in below as you left "
    "them. Check them and save."
)


def _is_signed_in_staff(user):
    # A user just signed in by the view itself has no ``is_verified`` until the next request.
    is_verified = getattr(user, "is_verified", None)
    return user.is_authenticated and user.is_active and user.is_staff and bool(is_verified and is_verified())


def _browser(request):
    """The (user id, random key) this browser's cookie carries, or None."""
    try:
        value = signing.loads(request.COOKIES.get(COOKIE_NAME, ""), salt=SALT)
        return int(value["u"]), str(value["k"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def _set_cookie(response, name, value, max_age=None):
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=_cookie_path(),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def _cookie_path():
    return "/" + settings.ADMIN_URL.lstrip("/")


def _in_workspace(request):
    match = request.resolver_match
    return match is not None and match.namespace == "admin" and match.url_name not in {"login", "logout"}


class KeepStaffWorkMiddleware:
    """Keeps a workspace POST that arrives after the session ended; restores it after the sign-in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "unsaved_staff_work_done", False):
            response.delete_cookie(PENDING_COOKIE_NAME, path=_cookie_path(), samesite="Lax")
        user = request.user
        if _in_workspace(request) and _is_signed_in_staff(user):
            browser = _browser(request)
            if browser is None or browser[0] != user.pk:
                value = signing.dumps({"u": user.pk, "k": secrets.token_urlsafe(32)}, salt=SALT)
                _set_cookie(response, COOKIE_NAME, value)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        # Runs after CsrfViewMiddleware's check: a forged POST never gets this far.
        if not _in_workspace(request):
            return None
        browser = _browser(request)
        if browser is None:
            return None
        user_id, browser_key = browser
        user = request.user
        if request.method == "POST" and not _is_signed_in_staff(user):
            if user.is_authenticated and user.pk != user_id:
                return None
            unsaved_staff_work_keep(
                user_id=user_id, browser_key=browser_key, path=request.path, data=request.POST
            )
            messages.warning(request, KEPT_MESSAGE)
            response = redirect(f"{reverse('two_factor:login')}?{urlencode({'next': request.path})}")
            _set_cookie(response, PENDING_COOKIE_NAME, "1", max_age=settings.UNSAVED_STAFF_WORK_HOURS * 3600)
            return response
        # Only a browser with work kept pays for looking it up.
        if (
            request.method == "GET"
            and PENDING_COOKIE_NAME in request.COOKIES
            and _is_signed_in_staff(user)
            and user.pk == user_id
        ):
            data = unsaved_staff_work_take(user_id=user_id, browser_key=browser_key, path=request.path)
            if data is not None:
                request.unsaved_staff_work = data
                messages.warning(request, RESTORED_MESSAGE)
                if not unsaved_staff_work_left(user_id=user_id, browser_key=browser_key):
                    request.unsaved_staff_work_done = True
        return None


class RestoresUnsavedWork:
    """A ModelAdmin mixin: the change form shows the fields kept from a POST the idle logout refused."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        data = getattr(request, "unsaved_staff_work", None)
        if data is None or request.method != "GET":
            return form
        return with_unsaved_work(form, data)


def with_unsaved_work(form_class, data):
    """``form_class``, unbound as on any GET, with its initial values taken from the kept ``data``."""

    class Restored(form_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if self.is_bound:
                return
            for name, field in self.fields.items():
                key = self.add_prefix(name)
                if not field.widget.value_omitted_from_data(data, {}, key):
                    self.initial[name] = field.widget.value_from_datadict(data, {}, key)

    Restored.__name__ = form_class.__name__
    return Restored
