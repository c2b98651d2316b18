"""The clinical intake: a page per section, reached by the signed link from the confirmation page,
the patient's e-mails and the status page.

Every question is optional; each page is saved as it is sent (``consultation_request_intake_save``),
so a patient may stop at any page and come back by the same link. PHQ-9 item 9 above zero leads to
the crisis page before anything else. Patients never see a score or a flag.
"""

from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from .. import questionnaire
from ..forms.intake import intake_form
from ..models import ConsultationRequest
from ..services import consultation_request_intake_save
from .common import private as _private

SECTIONS = questionnaire.sections(stage=questionnaire.INTAKE)
SECTION_IDS = [section.id for section in SECTIONS]
# The page the crisis page's "carry on" leads to: the one after the PHQ-9.
AFTER_PHQ9 = SECTION_IDS[SECTION_IDS.index("phq9") + 1]


def _consultation_request(request, signed):
    """The request of a signed intake link, or the response to give instead (expired, unknown)."""
    try:
        consultation_request = ConsultationRequest.objects.get_by_intake_signature(signed)
    except signing.SignatureExpired:
        return None, _private(render(request, "appointments/intake/link_expired.html", status=410))
    except (signing.BadSignature, ConsultationRequest.DoesNotExist):
        raise Http404 from None
    if not consultation_request.is_open:
        # A declined, cancelled or finished request: an old link neither shows nor changes its answers.
        return None, _private(render(request, "appointments/intake/closed.html", status=410))
    return consultation_request, None


def _page_url(signed, section_id):
    return reverse("appointments:intake_page", kwargs={"signed": signed, "section": section_id})


@never_cache
@require_http_methods(["GET", "HEAD"])
def intake_start(request, signed):
    consultation_request, refusal = _consultation_request(request, signed)
    if refusal:
        return refusal
    context = {
        "consultation_request": consultation_request,
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
    consultation_request, refusal = _consultation_request(request, signed)
    if refusal:
        return refusal
    form_class = intake_form(section)
    number = SECTION_IDS.index(section) + 1
    error = None
    if request.method == "POST":
        form = form_class(request.POST)
        if form.is_valid():
            try:
                consultation_request_intake_save(
                    consultation_request=consultation_request, section_id=section, answers=form.answers()
                )
            except ValidationError as refused:
                error = refused.messages[0]
            else:
                if section == "phq9" and (form.cleaned_data.get("phq9_9") or 0) > 0:
                    return redirect("appointments:intake_help", signed=signed)
                if number == len(SECTIONS):
                    return redirect("appointments:intake_done", signed=signed)
                return redirect(_page_url(signed, SECTION_IDS[number]))
    else:
        answers = {name: getattr(consultation_request, name) for name in form_class.columns()}
        form = form_class(initial=form_class.initial_from(answers))
    back_url = (
        _page_url(signed, SECTION_IDS[number - 2])
        if number > 1
        else reverse("appointments:intake_start", kwargs={"signed": signed})
    )
    context = {
        "form": form,
        "section": form_class.section,
        "number": number,
        "page_count": len(SECTIONS),
        "back_url": back_url,
        "is_last": number == len(SECTIONS),
        "error": error,
    }
    return _private(render(request, "appointments/intake/page.html", context))


@never_cache
@require_http_methods(["GET", "HEAD"])
def intake_help(request, signed):
    """Crisis help, straight after an answer that reports thoughts of self-harm; then carry on."""
    consultation_request, refusal = _consultation_request(request, signed)
    if refusal:
        return refusal
    context = {"consultation_request": consultation_request, "next_url": _page_url(signed, AFTER_PHQ9)}
    return _private(render(request, "appointments/intake/help.html", context))


@never_cache
@require_http_methods(["GET", "HEAD"])
def intake_done(request, signed):
    consultation_request, refusal = _consultation_request(request, signed)
    if refusal:
        return refusal
    context = {
        "consultation_request": consultation_request,
        "back_url": _page_url(signed, SECTION_IDS[-1]),
        "status_url": consultation_request.get_status_url(),
    }
    return _private(render(request, "appointments/intake/done.html", context))
