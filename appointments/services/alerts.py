"""Telling the on-call staff, at any hour, that requests need attention: urgent or overdue, still new."""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from clinic import details

from ..emails import render_email
from ..models import ConsultationRequest
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
