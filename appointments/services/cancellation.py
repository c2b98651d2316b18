"""Cancelling a booked consultation inside a transaction that already holds its request's lock.

Both the status workflow (leaving "scheduled" cancels the booking) and the scheduling services
use it; it lives apart from both so that neither imports the other in a circle.
"""

import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _g

from ..models import Appointment, AuditEvent, ConsultationRequest
from . import outbox
from .audit import audit_event_record
from .reminders import appointment_reminders_withdraw


def local_time(moment: datetime.datetime) -> str:
    """A time as staff read it: in the clinic's time zone, with the zone's abbreviation."""
    return date_format(timezone.localtime(moment), "Y-m-d H:i T")


def appointment_cancel_locked(
    *, appointment: Appointment, consultation_request: ConsultationRequest, by: AbstractBaseUser | None
) -> None:
    """Cancel a booked consultation, for a service that already holds the request's lock."""
    appointment_reminders_withdraw(appointment=appointment)
    appointment.status = Appointment.Status.CANCELLED
    appointment.sequence += 1
    appointment.save(update_fields=["status", "sequence", "updated_at"])
    audit_event_record(
        actor=by,
        action=AuditEvent.Action.SCHEDULE,
        consultation_request=consultation_request,
        description=_g("Cancelled the consultation of %(when)s")
        % {"when": local_time(appointment.starts_at)},
    )
    appointment.consultation_request = consultation_request
    outbox.appointment_email_enqueue(appointment=appointment)
