"""Each clinician's private calendar feed: a secret address their calendar app subscribes to."""

from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from .models import Clinician
from .staff_calendar import clinician_feed_ics


@require_safe
def clinician_calendar_feed(request, token):
    """The booked consultations of the clinician whose feed secret is ``token``; 404 for any other."""
    clinician = Clinician.objects.filter(calendar_feed_token=token).first()
    if clinician is None:
        raise Http404
    response = HttpResponse(
        clinician_feed_ics(clinician=clinician, now=timezone.now()),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = 'inline; filename="consultations.ics"'
    # A secret address: no shared cache keeps it, no search engine lists it.
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
