"""The clinical intake: a page per section, reached by the signed link from the confirmation page,
the patient's e-mails and the status page.

Every question is optional; each page is saved as it is sent (``consultation_request_intake_save``),
so a patient may stop at any page and come back by the same link. PHQ-9 item 9 above zero leads to
the crisis page before anything else. Patients never see a score or a flag.

The link is a bearer link (an e-mail may be forwarded, a browser shared), so a saved page says it
is answered without showing its answers: the minimum necessary. A page's saved answers are shown,
pre-filled, only in a browser whose access cookie (signed, HttpOnly, ``SHOWN_FOR`` long) names them
exactly as they are stored now: the answers this browser saved itself, or every page's once the
patient has given the date of birth saved with them (tries limited per client and per request,
counted in the shared cache; a count it cannot make refuses). Each such display is written to the
audit trail. A patient who has not given it still changes a page by answering it again, and a
hidden page sent empty keeps its answers. A saved date of birth changes only once the answers are
shown, and one is added only while no saved answer is hidden from this browser: the link alone
never sets the date that would show someone else's answers.
"""

import json
import time
from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.core import signing
from django.core.cache import cache as shared_cache
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext
from django.utils.translation import gettext as _g  # Not extracted: the audit trail stays English.
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from clinic.rate_limits import is_limited, parse_rate

from .. import questionnaire
from ..forms.intake import DateOfBirthCheckForm, intake_form
from ..models import AuditEvent, ConsultationRequest
from ..services import audit_event_record, consultation_request_intake_save
from .common import private as _private

SECTIONS = questionnaire.sections(stage=questionnaire.INTAKE)
SECTION_IDS = [section.id for section in SECTIONS]
# The page the crisis page's "carry on" leads to: the one after the PHQ-9.
AFTER_PHQ9 = SECTION_IDS[SECTION_IDS.index("phq9") + 1]

# Saved answers are shown in a browser for this long after it saved them or was given the date of
# birth (counted again from each page it saves).
SHOWN_FOR = 15 * 60
ACCESS_COOKIE = "intake_access"
ACCESS_SALT = "appointments.intake.access"
# Tries at the date of birth: from one client (any request), and at one request (from any client).
DATE_OF_BIRTH_TRIES = "5/10m"
DATE_OF_BIRTH_TRIES_A_REQUEST = "10/1d"
# Who read the answers, in the audit trail.
VIA_LINK = "patient via intake link"
# How a browser came to be shown a page's answers.
SAVED_HERE = "saved"
CONFIRMED = "confirmed"


def _opened(request, signed):
    """The opened intake link (``OpenedLink``), or the response to give instead (expired, unknown)."""
    try:
        opened = ConsultationRequest.objects.open_intake_link(signed)
    except signing.SignatureExpired:
        return None, _private(render(request, "appointments/intake/link_expired.html", status=410))
    except (signing.BadSignature, ConsultationRequest.DoesNotExist):
        raise Http404 from None
    if not opened.consultation_request.is_open:
        # A declined, cancelled or finished request: an old link neither shows nor changes its answers.
        return None, _private(render(request, "appointments/intake/closed.html", status=410))
    return opened, None


def _page_url(signed, section_id):
    return reverse("appointments:intake_page", kwargs={"signed": signed, "section": section_id})


# --- Which saved answers this browser is shown ---------------------------------------------------


def _stored(consultation_request, section_id):
    return {name: getattr(consultation_request, name) for name in intake_form(section_id).columns()}


@cache
def _blank(section_id, leave_out=()):
    return intake_form(section_id).blank_answers(leave_out=leave_out)


def _answered(consultation_request, section_id):
    return _stored(consultation_request, section_id) != _blank(section_id)


@sensitive_variables()
def _digest(consultation_request, section_id):
    """A keyed digest of a page's answers as stored now: the cookie holds this, never an answer."""
    answers = json.dumps(_stored(consultation_request, section_id), sort_keys=True, default=str)
    message = f"{consultation_request.link_value}\n{section_id}\n{answers}"
    return salted_hmac(f"{ACCESS_SALT}.answers", message).hexdigest()[:32]


def _owner(consultation_request):
    return salted_hmac(f"{ACCESS_SALT}.request", consultation_request.link_value).hexdigest()[:16]


def _access(request, consultation_request):
    """The pages this browser is shown the answers of: section id -> [digest, how]."""
    try:
        data = signing.loads(request.COOKIES.get(ACCESS_COOKIE, ""), salt=ACCESS_SALT, max_age=SHOWN_FOR)
    except signing.BadSignature:
        return {}
    if not isinstance(data, dict) or data.get("r") != _owner(consultation_request):
        return {}
    pages = data.get("p")
    return pages if isinstance(pages, dict) else {}


def _keep_access(response, consultation_request, pages):
    """Write (or refresh, for another ``SHOWN_FOR``) the pages this browser is shown."""
    value = signing.dumps({"r": _owner(consultation_request), "p": pages}, salt=ACCESS_SALT, compress=True)
    response.set_cookie(
        ACCESS_COOKIE,
        value,
        max_age=SHOWN_FOR,
        # The intake's pages only, in the page's language (/consultation/intake/, /es/...).
        path=reverse("appointments:intake_start", kwargs={"signed": "-"}).removesuffix("-/"),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def _shown_how(access, consultation_request, section_id):
    """How this browser came to be shown the page's answers as stored now, or None."""
    entry = access.get(section_id)
    if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
        return None
    return entry[1] if constant_time_compare(entry[0], _digest(consultation_request, section_id)) else None


@dataclass
class PageState:
    """What a page of the intake shows this browser of the answers saved on it."""

    consultation_request: ConsultationRequest
    section_id: str
    access: dict
    answered: bool  # something is saved on the page
    shown: str | None  # SAVED_HERE, CONFIRMED, or None: the saved answers are not shown
    # Why the date of birth is not asked on this page: "kept" (one is saved and hidden) or
    # "by_phone" (none is saved, and other pages' answers are hidden from this browser).
    date_of_birth_note: str = ""
    left_out: tuple = field(default=())

    @property
    def hidden(self):
        return self.answered and not self.shown


def _page_state(request, consultation_request, section_id):
    access = _access(request, consultation_request)
    answered = _answered(consultation_request, section_id)
    shown = _shown_how(access, consultation_request, section_id) if answered else None
    state = PageState(consultation_request, section_id, access, answered, shown)
    if "date_of_birth" in intake_form(section_id).base_fields and not shown:
        if consultation_request.date_of_birth is not None:
            state.date_of_birth_note = "kept"
        elif any(
            _answered(consultation_request, other) and not _shown_how(access, consultation_request, other)
            for other in SECTION_IDS
            if other != section_id
        ):
            state.date_of_birth_note = "by_phone"
        if state.date_of_birth_note:
            state.left_out = ("date_of_birth",)
    return state


def _record_shown(state, number):
    how = (
        _g("after the date of birth was confirmed")
        if state.shown == CONFIRMED
        else _g("as this browser saved them")
    )
    audit_event_record(
        actor=None,
        actor_label=VIA_LINK,
        action=AuditEvent.Action.VIEW,
        consultation_request=state.consultation_request,
        # The page's number, never its topic or an answer: the audit trail carries no health detail.
        description=_g("Clinical intake: page %(number)d of %(count)d shown with its saved answers, %(how)s")
        % {"number": number, "count": len(SECTIONS), "how": how},
    )


def _date_of_birth_tries_exceeded(request, consultation_request):
    """Count a try at the date of birth; whether there have been too many, from this client or at
    this request. A count the cache cannot make is too many: the answers stay hidden, never open."""
    if is_limited(request, group="appointments.intake.date_of_birth", rate=DATE_OF_BIRTH_TRIES):
        return True
    allowed, period = parse_rate(DATE_OF_BIRTH_TRIES_A_REQUEST)
    window = int(time.time()) // period
    key = salted_hmac("clinic.rate-limits", consultation_request.reference).hexdigest()[:32]
    count = shared_cache.count(
        f"rate:appointments.intake.date_of_birth.request:{period}:{window}:{key}", timeout=period
    )
    return count is None or count > allowed


# --- The pages -----------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "HEAD"])
def intake_start(request, signed):
    opened, refusal = _opened(request, signed)
    if refusal:
        return refusal
    context = {
        "consultation_request": opened.consultation_request,
        "first_url": _page_url(signed, SECTION_IDS[0]),
        "page_count": len(SECTIONS),
    }
    return _private(render(request, "appointments/intake/start.html", context))


# Error reports never show what a patient typed.
@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def intake_page(request, signed, section):
    if section not in SECTION_IDS:
        raise Http404
    opened, refusal = _opened(request, signed)
    if refusal:
        return refusal
    consultation_request = opened.consultation_request
    state = _page_state(request, consultation_request, section)
    if request.method == "POST" and request.POST.get("intake_action") == "confirm":
        return _confirm_date_of_birth(request, signed, state)
    form_class = intake_form(section)
    number = SECTION_IDS.index(section) + 1
    error = None
    if request.method == "POST":
        form = form_class(request.POST).leave_out(*state.left_out)
        if form.is_valid():
            answers = form.answers()
            if state.hidden and answers == _blank(section, state.left_out):
                answers = {}  # A hidden page sent empty keeps the answers saved on it.
            try:
                saved = consultation_request_intake_save(
                    consultation_request=consultation_request, section_id=section, answers=answers
                )
            except ValidationError as refused:
                error = refused.messages[0]
            else:
                if section == "phq9" and (form.cleaned_data.get("phq9_9") or 0) > 0:
                    response = redirect("appointments:intake_help", signed=signed)
                elif number == len(SECTIONS):
                    response = redirect("appointments:intake_done", signed=signed)
                else:
                    response = redirect(_page_url(signed, SECTION_IDS[number]))
                pages = dict(state.access)
                if answers and not state.left_out:
                    # Every answer on the page is this browser's own: it may see them again.
                    pages[section] = [_digest(saved.consultation_request, section), SAVED_HERE]
                return _keep_access(response, consultation_request, pages) if pages else response
    elif state.shown:
        form = form_class(initial=form_class.initial_from(_stored(consultation_request, section)))
        _record_shown(state, number)
    else:
        form = form_class().leave_out(*state.left_out)
    return _render_page(request, signed, state, form=form, error=error)


def _render_page(request, signed, state, *, form, error=None, check=None, status=200):
    form_class = intake_form(state.section_id)
    number = SECTION_IDS.index(state.section_id) + 1
    back_url = (
        _page_url(signed, SECTION_IDS[number - 2])
        if number > 1
        else reverse("appointments:intake_start", kwargs={"signed": signed})
    )
    consultation_request = state.consultation_request
    context = {
        "form": form,
        "section": form_class.section,
        "number": number,
        "page_count": len(SECTIONS),
        "back_url": back_url,
        "is_last": number == len(SECTIONS),
        "error": error,
        "hidden": state.hidden,
        "can_confirm": state.hidden and consultation_request.date_of_birth is not None,
        "check": check or DateOfBirthCheckForm(),
        "shown_minutes": SHOWN_FOR // 60,
        "date_of_birth_note": state.date_of_birth_note,
    }
    return _private(render(request, "appointments/intake/page.html", context, status=status))


@sensitive_variables()
def _confirm_date_of_birth(request, signed, state):
    """The date of birth given to see the saved answers: every page's shown in this browser when it
    is the one saved; a clear message, and nothing shown, when it is not."""
    consultation_request = state.consultation_request
    if not state.hidden or consultation_request.date_of_birth is None:
        return redirect(_page_url(signed, state.section_id))
    check = DateOfBirthCheckForm(request.POST)

    def refused(message, status=200):
        check.errors.clear()
        check.add_error("date_of_birth", message)
        form = intake_form(state.section_id)().leave_out(*state.left_out)
        return _render_page(request, signed, state, form=form, check=check, status=status)

    if _date_of_birth_tries_exceeded(request, consultation_request):
        return refused(
            gettext(
                "Too many tries at the date of birth. For your privacy your saved answers stay hidden "
                "for now: try again later, or answer the page again below."
            ),
            status=429,
        )
    if not check.is_valid():
        return refused(check.errors["date_of_birth"][0])
    if check.cleaned_data["date_of_birth"] != consultation_request.date_of_birth:
        audit_event_record(
            actor=None,
            actor_label=VIA_LINK,
            action=AuditEvent.Action.VIEW,
            consultation_request=consultation_request,
            description=_g("Clinical intake: a date of birth that does not match was given; nothing shown"),
        )
        return refused(
            gettext(
                "That is not the date of birth saved with your answers, so they stay hidden. Check it and "
                "try again, or answer the page again below."
            )
        )
    audit_event_record(
        actor=None,
        actor_label=VIA_LINK,
        action=AuditEvent.Action.VIEW,
        consultation_request=consultation_request,
        description=_g("Clinical intake: date of birth confirmed to show the saved answers"),
    )
    pages = {section_id: [_digest(consultation_request, section_id), CONFIRMED] for section_id in SECTION_IDS}
    response = redirect(_page_url(signed, state.section_id))
    return _keep_access(response, consultation_request, pages)


@never_cache
@require_http_methods(["GET", "HEAD"])
def intake_help(request, signed):
    """Crisis help, straight after an answer that reports thoughts of self-harm; then carry on."""
    opened, refusal = _opened(request, signed)
    if refusal:
        return refusal
    context = {"consultation_request": opened.consultation_request, "next_url": _page_url(signed, AFTER_PHQ9)}
    return _private(render(request, "appointments/intake/help.html", context))


@never_cache
@require_http_methods(["GET", "HEAD"])
def intake_done(request, signed):
    opened, refusal = _opened(request, signed)
    if refusal:
        return refusal
    consultation_request = opened.consultation_request
    context = {
        "consultation_request": consultation_request,
        "back_url": _page_url(signed, SECTION_IDS[-1]),
        # Expires with this intake link at the latest: a link made from a link never renews it.
        "status_url": consultation_request.get_status_url(not_after=opened.expires_at),
    }
    return _private(render(request, "appointments/intake/done.html", context))
