"""The clinicians' own settings that staff change: their calendar feed's secret address."""

import logging

from django.db import transaction

from ..models import Clinician
from ..models.booking import new_calendar_feed_token

logger = logging.getLogger(__name__)


def clinician_calendar_feed_renew(*, clinician: Clinician) -> Clinician:
    """Give the clinician a new secret feed address; the old one stops working at once."""
    with transaction.atomic():
        locked = Clinician.objects.select_for_update().get(pk=clinician.pk)
        locked.calendar_feed_token = new_calendar_feed_token()
        locked.save(update_fields=["calendar_feed_token"])
    logger.info("Calendar feed address renewed for clinician %s", locked.pk)
    return locked
