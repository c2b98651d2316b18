"""Read-only views of the requests for the staff workspace: the dashboard's numbers and chart."""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from . import targets
from .models import ConsultationRequest

CHART_WIDTH = 600
CHART_HEIGHT = 140
CHART_GAP = 2
SINCE_CLOSING_LIMIT = 20


@dataclass(frozen=True)
class DayBar:
    day: datetime.date
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass
class Dashboard:
    new_today: int
    urgent_open: int
    oldest_uncontacted: ConsultationRequest | None
    today: datetime.date
    overdue: int = 0
    # What arrived since the clinic last closed, urgent first, then newest.
    closed_at: datetime.datetime | None = None
    since_closing: list[ConsultationRequest] = field(default_factory=list)
    days: list[DayBar] = field(default_factory=list)
    scale_max: int = 0
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT

    @property
    def total(self):
        return sum(bar.count for bar in self.days)

    @property
    def busiest(self):
        return max(self.days, key=lambda bar: (bar.count, bar.day), default=None)


def _nice_ceiling(value):
    """The smallest of 1, 2, 5, 10, 20, 50, ... at or above ``value``: a chart's top line."""
    step = 1
    while True:
        for multiple in (1, 2, 5):
            if step * multiple >= value:
                return step * multiple
        step *= 10


def consultation_request_dashboard(*, now: datetime.datetime | None = None, days: int = 30) -> Dashboard:
    """New requests today, urgent ones still open, overdue ones, the oldest not yet contacted, what
    arrived since the clinic last closed, and a bar per day.

    Days are the clinic's (the current time zone). Four queries, whatever the number of requests.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    first_day = today - datetime.timedelta(days=days - 1)
    start = timezone.make_aware(datetime.datetime.combine(first_day, datetime.time.min))
    requests = ConsultationRequest.objects
    per_day = dict(
        requests.filter(created_at__gte=start, created_at__lte=now)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(count=Count("pk"))
        .values_list("day", "count")
    )
    figures = requests.aggregate(
        urgent_open=Count("pk", filter=Q(status__in=ConsultationRequest.OPEN_STATUSES, is_urgent=True)),
        overdue=Count("pk", filter=Q(status=ConsultationRequest.Status.NEW, respond_by__lt=now)),
    )
    closed_at = targets.last_closing(before=now)
    since_closing = (
        list(
            requests.filter(created_at__gte=closed_at, created_at__lte=now)
            .order_by("-is_urgent", "-created_at")
            .only("pk", "reference", "created_at", "is_urgent", "status")[:SINCE_CLOSING_LIMIT]
        )
        if closed_at
        else []
    )
    oldest = (
        requests.filter(status=ConsultationRequest.Status.NEW)
        .order_by("created_at")
        .only("pk", "reference", "created_at")
        .first()
    )

    counts = [(first_day + datetime.timedelta(days=n), 0) for n in range(days)]
    counts = [(day, per_day.get(day, 0)) for day, _zero in counts]
    scale_max = _nice_ceiling(max([count for _day, count in counts] + [1]))
    slot = CHART_WIDTH / days
    bars = []
    for index, (day, count) in enumerate(counts):
        height = round(CHART_HEIGHT * count / scale_max, 1)
        bars.append(
            DayBar(
                day=day,
                count=count,
                x=round(index * slot + CHART_GAP / 2, 1),
                y=round(CHART_HEIGHT - height, 1),
                width=round(slot - CHART_GAP, 1),
                height=height,
            )
        )
    return Dashboard(
        new_today=per_day.get(today, 0),
        urgent_open=figures["urgent_open"],
        overdue=figures["overdue"],
        oldest_uncontacted=oldest,
        closed_at=closed_at,
        since_closing=since_closing,
        today=today,
        days=bars,
        scale_max=scale_max,
    )
