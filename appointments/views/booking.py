"""The booking: a start page, a few short steps, crisis help the moment it is needed, check and send.

Each step is a server-rendered page that works without JavaScript. Its answers are kept in a
``BookingDraft`` found by a random token in a cookie of its own (the draft's 24 hours; a patient
has no session), so Back, a reload or a closed tab loses nothing. Send keeps what the
single page had: the honeypot, both rate limits, an idempotent submit (a resend is a duplicate
only when it is the same submission from the same browser) and nothing half-saved.
"""

import logging
import time
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from clinic import rate_limits
from clinic.http_cache import public_page
from clinic.rate_limits import is_limited

from .. import questionnaire
from ..booking_times import (
    PATIENT_ZONE_LABELS,
    PATIENT_ZONES,
    booking_kind,
    shows_patient_zone,
    zone_for_state,
)
from ..forms import SLUG_RE, STEP_FORMS, TOKEN_RE, SendForm
from ..forms.times import OpenTimesForm, parse_time_value, time_label, time_labels, time_value
from ..models import BookingDraft, ConsultationRequest, new_token
from ..models.drafts import DRAFT_LIFETIME
from ..questionnaire import Kind
from ..services import SlotTaken
from ..services.alerts import booking_ceiling_alert_enqueue
from ..services.drafts import (
    booking_draft_choose_time,
    booking_draft_delete,
    booking_draft_save_step,
    booking_draft_send,
)
from ..slots import DAYS_SHOWN, booking_window, days_page, open_slots, open_times_by_day
from ..staff_calendar import time_zone_label
from .common import private as _private
from .common import too_many_requests

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    slug: str  # the page's address: /consultation/<slug>/
    section: str  # the questionnaire section it asks

    @property
    def url(self):
        return reverse("appointments:booking_step", kwargs={"step": self.slug})


STEPS = [
    Step("you", "contact"),
    Step("safety", "safety"),
    Step("where", "eligibility"),
    Step("visit", "visit"),
]
STEPS_BY_SLUG = {step.slug: step for step in STEPS}
# The check-your-answers page is the last step.
STEP_COUNT = len(STEPS) + 1
CHECK_SLUG = "check"
# A step reached by a Change link on the check page returns there once saved.
RETURN_TO_CHECK = "check"

DRAFT_COOKIE = "booking_draft"
DRAFT_COOKIE_SALT = "appointments.booking-draft"

# What this browser sent lately, in a signed cookie of its own: a patient has no session (a session
# row was an INSERT and a commit of its own, a sixth of Send's cost). For each request: its form
# token with a digest of its answers (a resubmit of the same answers is the same request), its
# confirmation token and when it was sent (the confirmation page shows only in this browser, for
# CONSULTATION_CONFIRMATION_MAX_AGE). Like a session it ends with the browser, or after
# SESSION_COOKIE_AGE without a visit to the confirmation page.
SENT_COOKIE = "consultation_sent"
SENT_COOKIE_SALT = "appointments.consultation-sent"
# A bound on the cookie's size (about 200 bytes a request): a browser sends one or two.
REMEMBERED_SUBMISSIONS = 10


class Sent(NamedTuple):
    """A request this browser sent, as its cookie keeps it."""

    form_token: str
    digest: str
    confirmation_token: str
    sent_at: int


def _attempt_limited(request, group):
    """The loose limit: every Send counts in one group, every start of a draft (and every failed
    attempt at one) in another, so that a booking counts once in each."""
    return is_limited(request, group=group, rate=settings.CONSULTATION_ATTEMPT_RATE_LIMIT)


# The draft


def _draft(request):
    token = request.get_signed_cookie(DRAFT_COOKIE, default="", salt=DRAFT_COOKIE_SALT)
    if not TOKEN_RE.match(token):
        return None
    try:
        return BookingDraft.objects.get(token=token, expires_at__gt=timezone.now())
    except BookingDraft.DoesNotExist:
        return None


def _keep_draft_cookie(response, draft):
    response.set_signed_cookie(
        DRAFT_COOKIE,
        draft.token,
        salt=DRAFT_COOKIE_SALT,
        max_age=int(DRAFT_LIFETIME.total_seconds()),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def _first_missing_step(draft):
    """The first step the draft has no answers for, or None when every step is done."""
    for step in STEPS:
        if draft is None or step.section not in draft.answers:
            return step
    return None


# Pages


@public_page
@require_http_methods(["GET", "HEAD"])
def booking_start(request):
    """What the consultation is, what it costs, who can be seen and how long booking takes: no form,
    no cookie, the same for everyone, so a shared cache may keep it."""
    source = request.GET.get("from", "")
    start_url = STEPS[0].url
    if SLUG_RE.match(source):
        start_url += f"?from={source}"
    return render(
        request,
        "appointments/booking_start.html",
        {"start_url": start_url, "step_count": STEP_COUNT, "answers_needed": ANSWERS_NEEDED},
    )


# Error reports never show what a patient typed.
@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def booking_step(request, step):
    if step not in STEPS_BY_SLUG:
        raise Http404
    step = STEPS_BY_SLUG[step]
    number = STEPS.index(step)
    draft = _draft(request)
    missing = _first_missing_step(draft)
    if missing is not None and STEPS.index(missing) < number:
        return redirect(missing.url)
    form_class = STEP_FORMS[step.section]
    returning = request.GET.get("return") == RETURN_TO_CHECK
    if request.method == "POST":
        return _booking_step_post(request, step, draft, form_class, returning)
    initial = form_class.initial_from(draft.step_answers(step.section)) if draft else {}
    return _render_step(request, step, form_class(initial=initial), draft=draft, returning=returning)


@sensitive_variables()
def _booking_step_post(request, step, draft, form_class, returning):
    if draft is None and _attempt_limited(request, "appointments.booking.draft"):
        return too_many_requests(request)
    form = form_class(request.POST)
    if not form.is_valid():
        return _render_step(request, step, form, draft=draft, returning=returning)
    source = request.GET.get("from", "")
    draft = booking_draft_save_step(
        draft=draft,
        step=step.section,
        answers=form.answers(),
        source_article_slug=source if SLUG_RE.match(source) else "",
        # "es" under /es/, "en" at the English addresses ("en-us").
        language=get_language().split("-")[0],
        # An urgent draft left unsent counts against its client when it reaches staff.
        client_key=rate_limits.client_key(request),
    )
    if step.section == "safety" and draft.reports_self_harm:
        next_url = reverse("appointments:booking_help")
        if returning:
            next_url += f"?return={RETURN_TO_CHECK}"
    elif step.section == "visit" and _kind_offered(draft) is not None:
        next_url = reverse("appointments:booking_when")
        if returning:
            next_url += f"?return={RETURN_TO_CHECK}"
    elif returning:
        next_url = reverse("appointments:booking_check")
    else:
        following = _first_missing_step(draft)
        next_url = following.url if following else reverse("appointments:booking_check")
    return _keep_draft_cookie(redirect(next_url), draft)


def _back_url(step):
    number = STEPS.index(step)
    return STEPS[number - 1].url if number else reverse("appointments:booking_start")


def _render_step(request, step, form, *, draft, returning=False):
    number = STEPS.index(step) + 1
    context = {
        "form": form,
        "step": step,
        "section": form.section,
        "number": number,
        "step_count": STEP_COUNT,
        "back_url": reverse("appointments:booking_check") if returning else _back_url(step),
        "action": request.get_full_path(),
        # The times are a page of their own after this step (``booking_when``), since which
        # times depend on the answer to "in person or by video".
        "times_next": step.section == "visit" and _any_kind_offered(draft),
    }
    return render(request, "appointments/booking_step.html", context)


@never_cache
@require_http_methods(["GET", "HEAD"])
def booking_help(request):
    """Crisis help, shown right after a yes to the safety question, with the choice to carry on."""
    draft = _draft(request)
    if request.GET.get("return") == RETURN_TO_CHECK:
        carry_on = reverse("appointments:booking_check")
    else:
        following = _first_missing_step(draft)
        carry_on = following.url if following else reverse("appointments:booking_check")
    return _private(render(request, "appointments/booking_help.html", {"carry_on_url": carry_on}))


# The open times: a page of step 4, after "in person or by video"


def _kind_offered(draft):
    """The kind whose open times the draft's patient is offered, or None (the clinic calls them)."""
    if draft is None:
        return None
    modality = draft.step_answers("visit").get("modality")
    state = draft.step_answers("eligibility").get("state")
    if not modality or not state:
        return None
    return booking_kind(modality=modality, state=state)


def _any_kind_offered(draft):
    if draft is None:
        return False
    state = draft.step_answers("eligibility").get("state")
    return bool(state) and any(
        booking_kind(modality=modality, state=state) is not None
        for modality in (questionnaire.Modality.IN_PERSON, questionnaire.Modality.TELEHEALTH)
    )


def _patient_zone(request, draft):
    """The zone the patient reads the times in besides the clinic's: asked, kept, or from the state."""
    asked = request.POST.get("zone") or request.GET.get("zone")
    if asked in PATIENT_ZONE_LABELS:
        return asked
    if draft.time_zone in PATIENT_ZONE_LABELS:
        return draft.time_zone
    return zone_for_state(draft.step_answers("eligibility").get("state", ""))


def _with_patient_zone(form, zone):
    """Each time's label with the patient's own clock beside the clinic's: "2:00 PM (11:00 AM Pacific time)"."""
    zone_name = PATIENT_ZONE_LABELS[zone]
    with timezone.override(zone):
        theirs = time_labels(form.times)
    labels = {time_value(moment): label for moment, label in theirs.items()}
    form.fields["time"].choices = [
        (
            value,
            gettext("%(time)s (%(their_time)s %(zone)s)")
            % {"time": label, "their_time": labels[value], "zone": zone_name}
            if value in labels
            else label,
        )
        for value, label in form.fields["time"].choices
    ]


def _times_form(data, *, times, draft, zone, show_zone):
    form = OpenTimesForm(data, times=times, call_me=True)
    # Choosing no time is "call me": the times never add a required answer.
    form.fields["time"].required = False
    if data is None and draft.chosen_starts_at is not None:
        form.initial["time"] = time_value(draft.chosen_starts_at)
    if show_zone:
        _with_patient_zone(form, zone)
    return form


@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def booking_when(request):
    """Choose one of the open times for the kind held the way the patient chose, or "call me"."""
    draft = _draft(request)
    missing = _first_missing_step(draft)
    if missing is not None:
        return redirect(missing.url)
    returning = request.GET.get("return") == RETURN_TO_CHECK
    kind = _kind_offered(draft)
    if kind is None:
        # Nothing to choose from (no clinician for this state and way): the clinic calls.
        if draft.chosen_starts_at is not None:
            booking_draft_choose_time(draft=draft, kind=None, starts_at=None)
        return redirect("appointments:booking_check")
    if request.method == "POST":
        return _booking_when_post(request, draft, kind, returning)
    return _render_when(request, draft, kind, None, returning=returning)


def _booking_when_post(request, draft, kind, returning):
    zone = _patient_zone(request, draft)
    page = _when_page(request, draft, kind)
    form = _times_form(request.POST, times=page["times"], draft=draft, zone=zone, show_zone=page["show_zone"])
    if not form.is_valid():
        return _render_when(request, draft, kind, form, returning=returning, page=page)
    chosen = form.cleaned_data["time"]
    if chosen in (None, OpenTimesForm.CALL_ME):
        booking_draft_choose_time(draft=draft, kind=None, starts_at=None, time_zone=zone)
    else:
        booking_draft_choose_time(draft=draft, kind=kind, starts_at=chosen, time_zone=zone)
    return _keep_draft_cookie(redirect("appointments:booking_check"), draft)


def _when_page(request, draft, kind):
    """The week of open times asked for (``from``), with the links to the weeks either side."""
    now = timezone.now()
    data = request.POST if request.method == "POST" else request.GET
    # A posted time is checked against the open times of its own week, whichever page showed it
    # (the nearest times after a taken one can span two weeks).
    posted = parse_time_value(data.get("time", "")) if request.method == "POST" else None
    page = days_page(
        timezone.localtime(posted).date().isoformat() if posted else data.get("from"),
        booking_window(kind, now),
    )
    state = draft.step_answers("eligibility").get("state")
    slots = open_slots(kind=kind, now=now, state=state, first_day=page.first_day, days=DAYS_SHOWN)
    modality = draft.step_answers("visit").get("modality", "")
    return {
        "times": open_times_by_day(slots),
        "first_day": page.first_day,
        "later": page.later,
        "earlier": page.earlier,
        "is_video": modality != questionnaire.Modality.IN_PERSON,
        "show_zone": shows_patient_zone(modality=modality, time_zone=_patient_zone(request, draft)),
    }


def _render_when(request, draft, kind, form, *, returning=False, page=None, error=None, status=200):
    zone = _patient_zone(request, draft)
    page = page or _when_page(request, draft, kind)
    if form is None:
        form = _times_form(None, times=page["times"], draft=draft, zone=zone, show_zone=page["show_zone"])
    visit_url = STEPS_BY_SLUG["visit"].url
    context = {
        **page,
        "form": form,
        "kind": kind,
        "zone": zone,
        "zones": PATIENT_ZONES,
        "zone_name": PATIENT_ZONE_LABELS[zone],
        "clinic_zone": time_zone_label(),
        "error": error,
        "number": STEPS.index(STEPS_BY_SLUG["visit"]) + 1,
        "step_count": STEP_COUNT,
        "returning": returning,
        "back_url": reverse("appointments:booking_check") if returning else visit_url,
        "action": reverse("appointments:booking_when") + (f"?return={RETURN_TO_CHECK}" if returning else ""),
    }
    return render(request, "appointments/booking_when.html", context, status=status)


def chosen_time_text(draft):
    """The chosen time as the check page says it, with the patient's clock too when it differs."""
    starts_at = draft.chosen_starts_at
    local = timezone.localtime(starts_at)
    text = gettext("%(day)s, %(time)s %(zone)s") % {
        "day": date_format(local, _("l, F j")),
        "time": time_label(starts_at),
        "zone": time_zone_label(),
    }
    modality = draft.step_answers("visit").get("modality", "")
    zone = draft.time_zone
    if zone in PATIENT_ZONE_LABELS and shows_patient_zone(modality=modality, time_zone=zone):
        with timezone.override(zone):
            text += " " + gettext("(%(time)s %(zone)s)") % {
                "time": time_label(starts_at),
                "zone": PATIENT_ZONE_LABELS[zone],
            }
    return text


@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def booking_check(request):
    if request.method == "POST":
        return _booking_send(request)
    draft = _draft(request)
    missing = _first_missing_step(draft)
    if missing is not None:
        return redirect(missing.url)
    form = SendForm(initial={"form_token": draft.form_token})
    return _render_check(request, draft, form)


def _render_check(request, draft, form, *, busy=None, status=200):
    summary = _summary(draft)
    if _kind_offered(draft) is not None:
        when = chosen_time_text(draft) if draft.chosen_starts_at else _("Call me to find a time")
        summary.append(
            {
                "legend": _("When"),
                "url": reverse("appointments:booking_when") + f"?return={RETURN_TO_CHECK}",
                "rows": [(_("Time"), when)],
            }
        )
    context = {
        "form": form,
        "summary": summary,
        "number": STEP_COUNT,
        "step_count": STEP_COUNT,
        "back_url": STEPS[-1].url,
        "honeypot": form[SendForm.HONEYPOT_FIELD],
        # Why Send could not go online just now (a ``Busy``), with the phone number to call.
        "busy": busy,
    }
    return render(request, "appointments/booking_check.html", context, status=status)


def _display(question, answers):
    if question.kind == Kind.TICKS:
        return ", ".join(str(o.label) for o in question.options if answers.get(o.name))
    value = answers.get(question.name)
    if value in (None, "", []):
        return ""
    if question.kind in (Kind.YES_NO, Kind.CONSENT, Kind.TICK):
        return _("Yes") if value else _("No")
    if question.choices:
        labels = dict(question.choices)
        if isinstance(value, list):
            return ", ".join(str(labels.get(v, v)) for v in value)
        return labels.get(value, value)
    return value


def _summary(draft):
    """The answers so far, a group per step with its Change link: (legend, url, [(label, value)])."""
    groups = []
    for step in STEPS:
        form_class = STEP_FORMS[step.section]
        answers = draft.step_answers(step.section)
        rows = []
        for question in form_class.section.questions:
            if question.name in form_class.derived or question.kind == Kind.CONSENT:
                continue
            shown = _display(question, answers)
            if shown or question.required:
                rows.append((question.label, shown or _("Not given")))
        groups.append(
            {"legend": form_class.section.legend, "url": f"{step.url}?return={RETURN_TO_CHECK}", "rows": rows}
        )
    return groups


# Send


def _answers_digest(request, draft):
    """What was sent: the Send form's fields and the draft's answers."""
    fields = sorted((key, value) for key, value in request.POST.lists() if key != "csrfmiddlewaretoken")
    answers = sorted(draft.all_answers().items()) if draft else []
    return salted_hmac("appointments.consultation-request.answers", repr((fields, answers))).hexdigest()


def _is_resubmission(request, token, draft):
    """The same submission again from the same browser: its one-time token was sent from here, and
    either the draft it sent is gone (a double click, a reload of Send) or a draft with the very
    same answers is sent again. Changed answers are never dropped."""
    sent = next((sent for sent in _sent(request) if sent.form_token == token), None)
    if sent is None:
        return False
    return draft is None or sent.digest == _answers_digest(request, draft)


def _names_no_request(draft, token):
    """Whether ``token`` is the form token of a draft not yet sent: no request can have it, as the
    request that takes it deletes the draft in the same transaction (an unfinished urgent request
    takes it too, and is linked to the draft). Any other token may be a Send made before."""
    return draft is not None and draft.consultation_request_id is None and token == draft.form_token


def _sent(request):
    """What this browser sent lately, ``Sent`` each, the oldest first."""
    oldest = time.time() - settings.CONSULTATION_CONFIRMATION_MAX_AGE
    try:
        entries = signing.loads(
            request.COOKIES.get(SENT_COOKIE, ""), salt=SENT_COOKIE_SALT, max_age=settings.SESSION_COOKIE_AGE
        )
        return [
            Sent(str(form_token), str(digest), str(confirmation_token), int(sent_at))
            for form_token, digest, confirmation_token, sent_at in entries
            if int(sent_at) >= oldest
        ]
    except (signing.BadSignature, TypeError, ValueError):
        # None, changed, too old, or of another shape (a cookie an older version wrote): nothing.
        return []


def keep_sent(response, entries):
    """Write (or refresh) the cookie of what this browser sent."""
    response.set_cookie(
        SENT_COOKIE,
        signing.dumps([list(entry) for entry in entries[-REMEMBERED_SUBMISSIONS:]], salt=SENT_COOKIE_SALT),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def _remember_submission(response, request, token, digest, consultation_request):
    sent = [sent for sent in _sent(request) if sent.form_token != token]
    sent.append(Sent(token, digest, consultation_request.confirmation_token, int(time.time())))
    return keep_sent(response, sent)


def sent_here(request, token):
    """What this browser sent lately, when one of them has the confirmation ``token``; else None."""
    sent = _sent(request)
    return sent if any(one.confirmation_token == token for one in sent) else None


@sensitive_variables()
def _booking_send(request):
    # Every Send counts towards a loose limit; only new requests count towards the strict one.
    if _attempt_limited(request, "appointments.booking.send"):
        return too_many_requests(request)
    form = SendForm(request.POST)
    if form.is_spam():
        logger.info("Booking: honeypot filled in, nothing saved")
        return _private(render(request, "appointments/request_thanks.html"))

    draft = _draft(request)
    token = request.POST.get("form_token", "")
    token_used = False
    if TOKEN_RE.match(token) and not _names_no_request(draft, token):
        existing = (
            ConsultationRequest.objects.filter(form_token=token).only("confirmation_token").order_by().first()
        )
        if existing is not None:
            if _is_resubmission(request, token, draft):
                if draft is not None:
                    booking_draft_delete(draft=draft)
                return _forget_draft(redirect(existing))
            # A copy of a page sent before (a restored page, a replayed copy, changed answers):
            # a request of its own.
            token_used = True

    missing = _first_missing_step(draft)
    if missing is not None:
        return redirect(missing.url)
    if not form.is_valid():
        return _render_check(request, draft, form)
    if is_limited(request, group="appointments.request_create", rate=settings.CONSULTATION_RATE_LIMIT):
        return too_many_requests(request)
    counted = _contact_counted(draft)
    if counted.over:
        counted.refund()
        return _render_check(request, draft, form, busy=Busy.CONTACT, status=429)
    if draft.chosen_starts_at is not None:
        ceiling = _ceiling_counted()
        if ceiling.over:
            ceiling.refund()
            counted.refund()
            # Nothing is booked: the patient calls, or sends without a time and is called.
            booking_draft_choose_time(draft=draft, kind=None, starts_at=None)
            return _render_check(request, draft, form, busy=Busy.CEILING, status=429)
        counted = rate_limits.joined(counted, ceiling)
    form_token = new_token() if token_used else form.cleaned_data["form_token"]
    digest = _answers_digest(request, draft)
    try:
        consultation_request, _created = booking_draft_send(
            draft=draft, form_token=form_token, answers=form.answers()
        )
    except BookingDraft.DoesNotExist:
        counted.refund()
        return redirect(STEPS[0].url)
    except SlotTaken as taken:
        counted.refund()
        return _time_taken(request, draft, taken)
    except ValidationError:
        counted.refund()
        # The chosen time cannot be booked any more for another reason (the kind changed, the
        # clinic closed or booked the request meanwhile): send without it, the clinic calls.
        booking_draft_choose_time(draft=draft, kind=None, starts_at=None)
        form.add_error(
            None,
            _(
                "We could not book the time you chose. Send your request and we will call you to "
                "find a time, or choose another time."
            ),
        )
        return _render_check(request, draft, form)
    response = _forget_draft(redirect(consultation_request))
    return _remember_submission(
        response, request, consultation_request.form_token, digest, consultation_request
    )


class Busy:
    """Why Send did not go online just now; the check page says it calmly, with the phone number."""

    # This e-mail address or phone number sent its day's requests already (CONSULTATION_*_RATE_LIMIT).
    CONTACT = "contact"
    # The clinic's ceiling on times booked online was reached (BOOKING_CEILING_PER_*).
    CEILING = "ceiling"


CONTACT_GROUPS = {
    "email": ("appointments.request_create.email", "CONSULTATION_EMAIL_RATE_LIMIT"),
    "phone": ("appointments.request_create.phone", "CONSULTATION_PHONE_RATE_LIMIT"),
}
CEILING_GROUP = "appointments.booking.ceiling"


def email_identity(email):
    """An e-mail address as the limit counts it: one mailbox however it is spelt (case, a
    "+tag", Gmail's dots), so that varying the spelling does not mail one person more often."""
    local, _at, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in {"gmail.com", "googlemail.com"}:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


@sensitive_variables()
def _contact_counted(draft):
    """Count this new request against its e-mail address and its phone number (hashed, like
    addresses): every request mails the address it gives. A request the clinic already has (an
    unfinished one completed now) is not new."""
    if draft.consultation_request_id is not None:
        return rate_limits.NOT_COUNTED
    contact = draft.step_answers(STEPS[0].section)
    counts = []
    for name, identity in (("email", email_identity), ("phone", str)):
        if value := contact.get(name):
            group, setting = CONTACT_GROUPS[name]
            counts.append(rate_limits.count(group, identity(value), rate=getattr(settings, setting)))
    return rate_limits.joined(*counts)


def _ceiling_counted():
    """Count a time booked online against the clinic-wide ceilings, per hour and per day; when
    one is reached, queue staff's one e-mail (a day) about it."""
    ceilings = [
        ("hour", settings.BOOKING_CEILING_PER_HOUR, "h"),
        ("day", settings.BOOKING_CEILING_PER_DAY, "d"),
    ]
    counts = [
        (name, allowed, rate_limits.count(CEILING_GROUP, "clinic", rate=f"{allowed}/{unit}"))
        for name, allowed, unit in ceilings
    ]
    for name, allowed, counted in counts:
        if counted.over:
            booking_ceiling_alert_enqueue(ceiling=name, allowed=allowed)
            break
    return rate_limits.joined(*(counted for _name, _allowed, counted in counts))


def _time_taken(request, draft, taken):
    """Back to the times, with the nearest still open: every other answer is still in the draft."""
    kind = draft.chosen_kind
    booking_draft_choose_time(draft=draft, kind=None, starts_at=None)
    zone = _patient_zone(request, draft)
    modality = draft.step_answers("visit").get("modality", "")
    page = {
        "times": open_times_by_day(taken.nearest),
        "first_day": None,
        "later": None,
        "earlier": None,
        "is_video": modality != questionnaire.Modality.IN_PERSON,
        "show_zone": shows_patient_zone(modality=modality, time_zone=zone),
        "nearest": True,
    }
    return _render_when(request, draft, kind, None, page=page, error=taken.messages[0], status=409)


def _forget_draft(response):
    response.delete_cookie(DRAFT_COOKIE, samesite="Lax")
    return response


def _count_answers():
    """The answers a patient who skips everything optional must give: each control they must set."""
    count = 0
    for section in questionnaire.sections(stage=questionnaire.BOOKING):
        form_class = STEP_FORMS.get(section.id, SendForm)
        for question in section.questions:
            if question.required and question.name not in form_class.derived:
                count += 1
    return count


ANSWERS_NEEDED = _count_answers()
