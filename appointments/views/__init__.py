"""The patient's pages."""

from .request import request_create
from .status import appointment_cancel, appointment_reschedule, request_received, request_status

__all__ = [
    "appointment_cancel",
    "appointment_reschedule",
    "request_create",
    "request_received",
    "request_status",
]
