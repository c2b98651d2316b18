"""The patient's pages after sending: the confirmation, and the signed status page."""

import datetime
from functools import wraps

from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from clinic import details

from .. import services
from ..calendar import appointment_location
from ..forms import TOKEN_RE
from ..forms.changes import CancelForm, ReasonForm
from ..forms.times import OpenTimesForm
from ..models import Appointment, Clinician, ConsultationRequest
from ..services import SlotTaken, Source, consultation_request_cancel_by_patient
from ..services.patient_changes import clinician_for_time, patient_open_slots, too_late_message
from ..slots import DAYS_SHOWN, booking_window, days_page, open_times_by_day
from ..staff_calendar import time_zone_label
from .booking import keep_sent, sent_here
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


# What the status page says after the patient changed their consultation.
DONE_TEXT = {
    "moved": _("Your consultation has been moved. We have e-mailed you the new time for your calendar."),
    "cancelled": _("Your consultation has been cancelled. We have e-mailed you a confirmation."),
}


@never_cache
@require_http_methods(["GET", "HEAD"])
def request_received(request, token):
    # Only a token's own characters reach the database (PostgreSQL refuses a NUL with an error).
    if not TOKEN_RE.match(token):
        raise Http404
    # The page shows only in the browser that sent the request, for a short time: the patient's
    # lasting link is the signed status link in their e-mail.
    sent = sent_here(request, token)
    if sent is None:
        return _private(render(request, "appointments/request_received_expired.html", status=410))
    consultation_request = get_object_or_404(
        ConsultationRequest.objects.only(
            "reference",
            "is_urgent",
            "created_at",
            "confirmation_token",
            "intake_started_at",
            "intake_completed_at",
        ),
        confirmation_token=token,
    )
    facts = details.get()
    now = timezone.now()
    opens = facts.next_opening(after=now)
    context = {
        "consultation_request": consultation_request,
        "open_now": opens == now,
        "next_opening": opens and opens.astimezone(facts.time_zone),
        # Shown only in the browser that sent the request, soon after: a link of the intake's own age.
        "intake_url": consultation_request.get_intake_url(),
    }
    appointment = _booked(consultation_request)
    if appointment is not None:
        context.update(_appointment_context(appointment))
    # Seen again: this browser keeps it for another SESSION_COOKIE_AGE.
    return keep_sent(_private(render(request, "appointments/request_received.html", context)), sent)


class LinkRefused(Exception):  # noqa: N818 (not an error: the page to show instead)
    def __init__(self, response):
        super().__init__()
        self.response = response


def _request_from_link(request, signed):
    try:
        return ConsultationRequest.objects.open_status_link(signed)
    except signing.SignatureExpired:
        raise LinkRefused(
            _private(render(request, "appointments/status_link_expired.html", status=410))
        ) from None
    except (signing.BadSignature, ConsultationRequest.DoesNotExist):
        raise Http404 from None


def _booked(consultation_request):
    return (
        consultation_request.appointments.filter(status=Appointment.Status.BOOKED)
        .select_related("clinician", "kind")
        .first()
    )


def _appointment_context(appointment):
    """What the patient's pages say about a booked consultation: when (named zone), with whom, how."""
    return {
        "appointment": appointment,
        "starts": timezone.localtime(appointment.starts_at),
        "ends": timezone.localtime(appointment.ends_at),
        "zone_label": time_zone_label(),
        "is_telehealth": appointment.modality == Appointment.Modality.TELEHEALTH,
        "location": appointment_location(appointment),
    }


def _links(signed, opened):
    """The pages of one status link, all on the same signature (never a fresh, longer-lived one),
    and the intake's link, which expires with the status link at the latest."""
    links = {
        name: reverse(f"appointments:{name}", kwargs={"signed": signed})
        for name in ["request_status", "appointment_reschedule", "appointment_cancel"]
    }
    links["intake"] = opened.consultation_request.get_intake_url(not_after=opened.expires_at)
    return links


def signed_link_view(view):
    """The view of a page behind the signed status link: the link checked, no caching, no indexing."""

    @never_cache
    @wraps(view)
    def wrapped(request, signed):
        try:
            opened = _request_from_link(request, signed)
        except LinkRefused as refused:
            return refused.response
        return _private(view(request, opened.consultation_request, _links(signed, opened)))

    return wrapped


@require_http_methods(["GET", "HEAD", "POST"])
@signed_link_view
def request_status(request, consultation_request, links):
    error = None
    if request.method == "POST":
        try:
            consultation_request_cancel_by_patient(consultation_request=consultation_request)
        except ValidationError as exc:
            error = exc.messages[0]
        else:
            return redirect(request.path)

    appointment = _booked(consultation_request)
    now = timezone.now()
    context = {
        "consultation_request": consultation_request,
        "status_text": PATIENT_STATUS_TEXT[consultation_request.status],
        # With a consultation booked, cancelling goes through its own page (and its cut-off).
        "can_cancel": appointment is None and consultation_request.can_move_to(Status.CANCELLED_BY_PATIENT),
        "error": error,
        "done": DONE_TEXT.get(request.GET.get("done", "")),
        "links": links,
        "intake_url": links["intake"],
    }
    if appointment is not None:
        context.update(_appointment_context(appointment))
        context["may_change"] = appointment.patient_may_change(now=now)
        context["too_late"] = None if context["may_change"] else too_late_message()
    return render(request, "appointments/request_status.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@signed_link_view
def appointment_reschedule(request, consultation_request, links):
    """Choose another open time, confirm it, and the consultation is moved (or a clear refusal)."""
    appointment = _booked(consultation_request)
    status_url = links["request_status"]
    if appointment is None:
        return redirect(status_url)
    now = timezone.now()
    context = {
        "consultation_request": consultation_request,
        "links": links,
        **_appointment_context(appointment),
    }
    if not appointment.patient_may_change(now=now) or appointment.kind_id is None:
        context["refusal"] = (
            too_late_message()
            if appointment.kind_id
            else gettext("This consultation can only be changed by phone. Please call us at %(phone)s.")
            % {"phone": details.get().phone}
        )
        return render(request, "appointments/appointment_reschedule.html", context)

    data = request.POST if request.method == "POST" else request.GET
    page = days_page(data.get("from"), booking_window(appointment.kind, now))
    error = None

    def week(first_day):
        slots = patient_open_slots(appointment=appointment, now=now, first_day=first_day, days=DAYS_SHOWN)
        return slots, open_times_by_day(slots)

    slots, times = week(page.first_day)
    form = OpenTimesForm(request.POST if request.method == "POST" else None, times=times)
    if request.method == "POST" and form.is_valid():
        starts_at = form.cleaned_data["time"]
        reason_form = ReasonForm(request.POST)
        if request.POST.get("step") == "confirm" and reason_form.is_valid():
            try:
                services.appointment_move(
                    appointment=appointment,
                    source=Source.PATIENT,
                    starts_at=starts_at,
                    reason=reason_form.cleaned_data["reason"],
                    now=now,
                )
            except SlotTaken:
                error = gettext(
                    "That time has just been taken. Please choose another of the open times below."
                )
                slots, times = week(page.first_day)
                form = OpenTimesForm(times=times)
            except ValidationError as refusal:
                context["refusal"] = refusal.messages[0]
                return render(request, "appointments/appointment_reschedule.html", context)
            else:
                return redirect(f"{status_url}?done=moved")
        else:
            clinician_id = clinician_for_time(
                slots=slots, starts_at=starts_at, current=appointment.clinician_id
            )
            context.update(
                confirm=True,
                new_starts=timezone.localtime(starts_at),
                new_ends=timezone.localtime(starts_at)
                + datetime.timedelta(minutes=appointment.duration_minutes),
                new_clinician=Clinician.objects.filter(pk=clinician_id).first(),
                chosen=request.POST["time"],
                reason_form=reason_form,
                first_day=page.first_day,
            )
            return render(request, "appointments/appointment_reschedule.html", context)
    # Otherwise a posted time is gone or was never one: the bound form says why, beside fresh times.

    context.update(
        form=form,
        error=error,
        first_day=page.first_day,
        last_day=page.last_day,
        later=page.later,
        earlier=page.earlier,
    )
    return render(request, "appointments/appointment_reschedule.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@signed_link_view
def appointment_cancel(request, consultation_request, links):
    """Cancel the booked consultation after a confirmation, keeping the request or not."""
    appointment = _booked(consultation_request)
    status_url = links["request_status"]
    if appointment is None:
        return redirect(status_url)
    now = timezone.now()
    context = {
        "consultation_request": consultation_request,
        "links": links,
        **_appointment_context(appointment),
    }
    if not appointment.patient_may_change(now=now):
        context["refusal"] = too_late_message()
        return render(request, "appointments/appointment_cancel.html", context)
    form = CancelForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            services.appointment_cancel(
                appointment=appointment,
                source=Source.PATIENT,
                keep_request=form.cleaned_data["next_step"] == CancelForm.CALL_ME,
                reason=form.cleaned_data["reason"],
                now=now,
            )
        except ValidationError as refusal:
            context["refusal"] = refusal.messages[0]
        else:
            return redirect(f"{status_url}?done=cancelled")
    context["form"] = form
    return render(request, "appointments/appointment_cancel.html", context)
