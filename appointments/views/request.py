"""The single-page consultation request form."""

import logging
import time
from functools import lru_cache

from django.conf import settings
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.crypto import salted_hmac
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from ..forms import SLUG_RE, TOKEN_RE, ConsultationRequestForm
from ..models import ConsultationRequest, new_token
from ..services import consultation_request_create
from .common import private as _private
from .common import too_many_requests

logger = logging.getLogger(__name__)


def _attempt_rate(group, request):
    return settings.CONSULTATION_ATTEMPT_RATE_LIMIT


def _request_rate(group, request):
    return settings.CONSULTATION_RATE_LIMIT


# What this browser session has sent: form tokens with a digest of their answers (a resubmit of
# the same answers is the same request), and the confirmation pages it may open, with when.
SUBMITTED_SESSION_KEY = "consultation_submitted"
RECEIVED_SESSION_KEY = "consultation_received"
# A bound on the session's size, well above what the rate limit lets one client send in the time
# a confirmation page stays open.
REMEMBERED_SUBMISSIONS = 30


def _answers_digest(request):
    fields = sorted((key, value) for key, value in request.POST.lists() if key != "csrfmiddlewaretoken")
    return salted_hmac("appointments.consultation-request.answers", repr(fields)).hexdigest()


def _is_resubmission(request, token):
    """The same answers sent again with the same one-time token, from the same browser session."""
    return request.session.get(SUBMITTED_SESSION_KEY, {}).get(token) == _answers_digest(request)


def _remember_submission(request, token, consultation_request):
    submitted = dict(request.session.get(SUBMITTED_SESSION_KEY, {}))
    submitted[token] = _answers_digest(request)
    received = dict(request.session.get(RECEIVED_SESSION_KEY, {}))
    received[consultation_request.confirmation_token] = int(time.time())
    request.session[SUBMITTED_SESSION_KEY] = dict(list(submitted.items())[-REMEMBERED_SUBMISSIONS:])
    request.session[RECEIVED_SESSION_KEY] = dict(list(received.items())[-REMEMBERED_SUBMISSIONS:])


def may_see_confirmation(request, token):
    sent_at = request.session.get(RECEIVED_SESSION_KEY, {}).get(token)
    return sent_at is not None and time.time() - sent_at <= settings.CONSULTATION_CONFIRMATION_MAX_AGE


# Error reports never show what a patient typed.
@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def request_create(request):
    if request.method == "POST":
        return _request_create_post(request)
    source = request.GET.get("from", "")
    form = ConsultationRequestForm(
        initial={"form_token": new_token(), "source_article": source if SLUG_RE.match(source) else ""}
    )
    return _render_form(request, form)


@sensitive_variables()
def _request_create_post(request):
    # Every POST counts towards a loose limit; only new requests count towards the strict one.
    if is_ratelimited(
        request, group="appointments.request_create.post", key="ip", rate=_attempt_rate, increment=True
    ):
        return too_many_requests(request)
    form = ConsultationRequestForm(request.POST)
    if form.is_spam():
        logger.info("Consultation request form: honeypot filled in, nothing saved")
        return _private(render(request, "appointments/request_thanks.html"))

    token = request.POST.get("form_token", "")
    token_used = False
    if TOKEN_RE.match(token):
        existing = ConsultationRequest.objects.filter(form_token=token).only("confirmation_token").first()
        if existing is not None:
            if _is_resubmission(request, token):
                return redirect(existing)
            # A copy of a form someone else sent (a restored page, a replayed copy): its own request.
            token_used = True

    if not form.is_valid():
        return _render_form(request, form, status=200)
    if is_ratelimited(
        request, group="appointments.request_create", key="ip", rate=_request_rate, increment=True
    ):
        return too_many_requests(request)
    form_token = new_token() if token_used else form.cleaned_data["form_token"]
    consultation_request, _created = consultation_request_create(
        form_token=form_token,
        answers=form.answers(),
        source_article_slug=form.cleaned_data["source_article"],
        # "es" under /es/, "en" at the English addresses ("en-us").
        language=get_language().split("-")[0],
    )
    _remember_submission(request, form_token, consultation_request)
    return redirect(consultation_request)


@lru_cache(maxsize=8)
def _blank_form_sections(language):
    """The questions of an empty form, rendered once per process and language.

    Crispy's field templates make this the costliest part of the page, and an empty form's
    questions are the same for everyone: the per-visitor parts (CSRF and one-time tokens,
    the article slug) are hidden fields rendered outside them.
    """
    return render_to_string("appointments/_form_sections.html", {"form": ConsultationRequestForm()})


def _render_form(request, form, status=200):
    context = {
        "form": form,
        "show_crisis_help": form.is_bound and form.reports_self_harm(),
        "honeypot": form[ConsultationRequestForm.HONEYPOT_FIELD],
    }
    # In development, template edits show at once.
    if not form.is_bound and not settings.DEBUG:
        context["sections_html"] = _blank_form_sections(get_language())
    return render(request, "appointments/request_form.html", context, status=status)
