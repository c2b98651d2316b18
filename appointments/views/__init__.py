"""The patient's pages."""

from .booking import booking_check, booking_help, booking_start, booking_step
from .status import request_received, request_status

__all__ = [
    "booking_check",
    "booking_help",
    "booking_start",
    "booking_step",
    "request_received",
    "request_status",
]
