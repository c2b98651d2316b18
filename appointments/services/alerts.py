"""Telling the staff what needs them: the on-call list, at any hour, about requests that are urgent
or overdue and still new; everyone, once a period, when unfinished urgent requests come faster than
they are e-mailed one by one, or when online booking of times reaches its clinic-wide ceiling."""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from clinic import details
from clinic.rate_limits import parse_rate

from ..emails import render_email
from ..models import ConsultationRequest, OutboundEmail
from .outbox import outbound_email_enqueue

logger = logging.getLogger(__name__)


def consultation_requests_alert_on_call(*, now: datetime.datetime | None = None) -> int:
    """Queue one e-mail to each address of ``CLINIC_ON_CALL_EMAILS`` saying how many requests need
    attention, and return that number (0: nothing queued).

    A request is named at most once in ``ON_CALL_ALERT_INTERVAL_MINUTES``. The e-mail carries a count
    and a link to the workspace, nothing about anyone's health, and not the word "urgent". Safe to
    run from several machines at once: a request another run holds is left to it.
    """
    addresses = settings.CLINIC_ON_CALL_EMAILS
    if not addresses:
        return 0
    now = now or timezone.now()
    quiet_since = now - datetime.timedelta(minutes=settings.ON_CALL_ALERT_INTERVAL_MINUTES)
    with transaction.atomic():
        due = list(
            ConsultationRequest.objects.needing_attention(now=now)
            .filter(Q(attention_alerted_at__isnull=True) | Q(attention_alerted_at__lte=quiet_since))
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        if not due:
            return 0
        ConsultationRequest.objects.filter(pk__in=due).update(attention_alerted_at=now)
        clinic = details.get()
        list_url = reverse("admin:appointments_consultationrequest_changelist") + "?contact_due=attention"
        subject, body = render_email(
            "staff_attention",
            {"clinic": clinic, "count": len(due), "list_url": clinic.site_url + list_url},
        )
        for address in addresses:
            outbound_email_enqueue(
                dedupe_key=f"on-call:{now:%Y%m%dT%H%M%S.%f}:{address}", to=address, subject=subject, body=body
            )
    logger.info("On-call alert queued for %d requests", len(due))
    return len(due)


def _window_end(rate, now):
    """The fixed window of ``rate`` (``clinic.rate_limits``) that holds ``now``, and when it ends."""
    _allowed, period = parse_rate(rate)
    window = int(now.timestamp()) // period
    return window, datetime.datetime.fromtimestamp((window + 1) * period, tz=datetime.UTC)


def unfinished_requests_summary_enqueue(*, count: int, now: datetime.datetime, rate: str) -> bool:
    """Tell the staff, once in each window of ``rate`` (``URGENT_DRAFT_ALERT_LIMIT``), that ``count``
    more unfinished urgent requests reached the workspace without an e-mail each, and that any
    more before the window ends will too. A count and a link, nothing about anyone.

    Returns whether this call queued it (False: this window's summary was queued already).
    """
    window, ends = _window_end(rate, now)
    dedupe_key = f"unfinished-summary:{rate}:{window}"
    if OutboundEmail.objects.filter(dedupe_key=dedupe_key).exists():
        return False
    allowed, _period = parse_rate(rate)
    clinic = details.get()
    # The unfinished requests, urgent first and newest first (the list's own order).
    list_url = reverse("admin:appointments_consultationrequest_changelist") + "?is_unfinished__exact=1"
    subject, body = render_email(
        "staff_unfinished_summary",
        {
            "clinic": clinic,
            "count": count,
            "allowed": allowed,
            "until": timezone.localtime(ends, clinic.time_zone),
            "list_url": clinic.site_url + list_url,
        },
    )
    outbound_email_enqueue(dedupe_key=dedupe_key, to=settings.CLINIC_STAFF_EMAIL, subject=subject, body=body)
    return True


def booking_ceiling_alert_enqueue(
    *, ceiling: str, allowed: int, now: datetime.datetime | None = None
) -> bool:
    """Tell the staff, once a day (UTC, the ceiling's day window), that online booking of times
    has reached its clinic-wide ceiling (``ceiling``: "hour" or "day", of ``allowed`` bookings):
    patients who chose a time are being asked to call, or to send without one. Health-free.

    Returns whether this call queued it (False: today's was queued already).
    """
    now = now or timezone.now()
    dedupe_key = f"booking-ceiling:{int(now.timestamp()) // 86400}"
    if OutboundEmail.objects.filter(dedupe_key=dedupe_key).exists():
        return False
    clinic = details.get()
    list_url = reverse("admin:appointments_consultationrequest_changelist")
    subject, body = render_email(
        "staff_booking_ceiling",
        {"clinic": clinic, "ceiling": ceiling, "allowed": allowed, "list_url": clinic.site_url + list_url},
    )
    outbound_email_enqueue(dedupe_key=dedupe_key, to=settings.CLINIC_STAFF_EMAIL, subject=subject, body=body)
    logger.warning("Online booking reached its %s ceiling (%d): staff alerted", ceiling, allowed)
    return True
