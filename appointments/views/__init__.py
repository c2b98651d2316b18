"""The patient's pages."""

from .intake import intake_done, intake_help, intake_page, intake_start
from .request import request_create
from .status import appointment_cancel, appointment_reschedule, request_received, request_status

__all__ = [
    "appointment_cancel",
    "appointment_reschedule",
    "intake_done",
    "intake_help",
    "intake_page",
    "intake_start",
    "request_create",
    "request_received",
    "request_status",
]
