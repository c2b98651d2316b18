"""The patient's pages after sending: the confirmation, and the signed status page."""

from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from clinic import details

from ..forms import TOKEN_RE
from ..models import ConsultationRequest
from ..services import consultation_request_cancel_by_patient
from .booking import may_see_confirmation
from .common import private as _private

Status = ConsultationRequest.Status

# What each status means to the patient, in plain words; staff-only states read as "closed".
PATIENT_STATUS_TEXT = {
    Status.NEW: _("Received. Our front desk will contact you within one working day."),
    Status.CONTACTED: _("In progress. We have been in touch with you and will arrange your consultation."),
    Status.SCHEDULED: _("Booked. Your consultation’s date and time are in the e-mail we sent you."),
    Status.COMPLETED: _("Completed. Your consultation has taken place."),
    Status.DECLINED: _("Closed. Please call us if you have any questions."),
    Status.CANCELLED_BY_PATIENT: _("Cancelled by you. You are welcome to send a new request at any time."),
    Status.CANCELLED_BY_STAFF: _("Cancelled by the clinic. Please call us if you did not expect this."),
    Status.SPAM: _("Closed. Please call us if you have any questions."),
}


@never_cache
@require_http_methods(["GET", "HEAD"])
def request_received(request, token):
    # Only a token's own characters reach the database (PostgreSQL refuses a NUL with an error).
    if not TOKEN_RE.match(token):
        raise Http404
    # The page shows only in the browser session that sent the request, for a short time: the
    # patient's lasting link is the signed status link in their e-mail.
    if not may_see_confirmation(request, token):
        return _private(render(request, "appointments/request_received_expired.html", status=410))
    consultation_request = get_object_or_404(
        ConsultationRequest.objects.only("reference", "is_urgent", "created_at"), confirmation_token=token
    )
    facts = details.get()
    now = timezone.now()
    opens = facts.next_opening(after=now)
    context = {
        "consultation_request": consultation_request,
        "open_now": opens == now,
        "next_opening": opens and opens.astimezone(facts.time_zone),
    }
    return _private(render(request, "appointments/request_received.html", context))


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def request_status(request, signed):
    try:
        consultation_request = ConsultationRequest.objects.get_by_status_signature(signed)
    except signing.SignatureExpired:
        return _private(render(request, "appointments/status_link_expired.html", status=410))
    except (signing.BadSignature, ConsultationRequest.DoesNotExist):
        raise Http404 from None

    error = None
    if request.method == "POST":
        try:
            consultation_request_cancel_by_patient(consultation_request=consultation_request)
        except ValidationError as exc:
            error = exc.messages[0]
        else:
            return redirect(request.path)

    context = {
        "consultation_request": consultation_request,
        "status_text": PATIENT_STATUS_TEXT[consultation_request.status],
        "can_cancel": consultation_request.can_move_to(Status.CANCELLED_BY_PATIENT),
        "error": error,
    }
    return _private(render(request, "appointments/request_status.html", context))
