"""The site's URLs plus /bench/baseline/: a minimal page that renders a template after one query.

And two pages of open times for ``bench/slots.py``: a week of them as the patient's time step
would show them, and the whole 60-day horizon.
"""

from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_safe

from appointments.forms.times import time_labels, time_value
from appointments.models import ConsultationKind
from appointments.slots import open_slots, open_times_by_day
from clinic.urls import handler400, handler403, handler500
from clinic.urls import urlpatterns as site_urlpatterns
from education.models import Article

BENCH_KIND = "bench-consultation"


@require_safe
def baseline(request):
    article = Article.objects.only("title", "summary").order_by("pk").first()
    return render(request, "bench/baseline.html", {"article": article})


@require_safe
def slots(request, days):
    kind = get_object_or_404(ConsultationKind, slug=BENCH_KIND)
    found = open_slots(kind=kind, now=timezone.now(), state="NY", days=days)
    times = open_times_by_day(found)
    # The values and labels of the patient's form (appointments/forms/times.py).
    labels = time_labels(times)
    by_day = [(day, [(time_value(start), labels[start]) for start in starts]) for day, starts in times]
    return render(request, "bench/slots.html", {"kind": kind, "by_day": by_day})


urlpatterns = [
    path("bench/baseline/", baseline, name="bench_baseline"),
    path("bench/slots/week/", slots, {"days": 7}, name="bench_slots_week"),
    path("bench/slots/horizon/", slots, {"days": None}, name="bench_slots_horizon"),
    *site_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler500", "urlpatterns"]
