"""The patient's pages."""

from .booking import booking_check, booking_help, booking_start, booking_step, booking_when
from .intake import intake_done, intake_help, intake_page, intake_start
from .status import appointment_cancel, appointment_reschedule, request_received, request_status

__all__ = [
    "appointment_cancel",
    "appointment_reschedule",
    "booking_check",
    "booking_help",
    "booking_start",
    "booking_step",
    "booking_when",
    "intake_done",
    "intake_help",
    "intake_page",
    "intake_start",
    "request_received",
    "request_status",
]
