"""Each clinician's private calendar feed: a secret address their calendar app subscribes to."""

import re

from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.views.decorators.http import require_safe

from .models import Clinician
from .models.booking import new_calendar_feed_token
from .services.audit import appointments_record_list
from .staff_calendar import clinician_feed_appointments, clinician_feed_ics

# Every feed secret is of this shape (secrets.token_urlsafe): anything else is not looked up at all.
FEED_TOKEN_RE = re.compile(rf"[A-Za-z0-9_-]{{{len(new_calendar_feed_token())}}}")


@require_safe
def clinician_calendar_feed(request, token):
    """The booked consultations of the clinician whose feed secret is ``token``; 404 for any other.

    Only while the clinician takes bookings and their staff login is active (switching a login off
    also replaces the secret: ``clinic.staff.staff_member_active_set``). Each fetch is audited as a
    list: the clinician's login, how many consultations and which requests (HEAD shows none).
    """
    if not FEED_TOKEN_RE.fullmatch(token):
        raise Http404
    clinician = (
        Clinician.objects.filter(
            calendar_feed_token=token, is_active=True, user__is_active=True, user__is_staff=True
        )
        .select_related("user")
        .first()
    )
    if clinician is None:
        raise Http404
    now = timezone.now()
    appointments = clinician_feed_appointments(clinician=clinician, now=now)
    if request.method == "GET":
        appointments_record_list(
            by=clinician.user,
            where=_g("Calendar feed of %(name)s") % {"name": clinician.display_name},
            appointments=appointments,
        )
    response = HttpResponse(
        clinician_feed_ics(clinician=clinician, now=now, appointments=appointments),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = 'inline; filename="consultations.ics"'
    # A secret address: no shared cache keeps it, no search engine lists it.
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
