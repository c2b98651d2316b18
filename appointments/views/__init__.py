"""The patient's pages."""

from .request import request_create
from .status import request_received, request_status

__all__ = ["request_create", "request_received", "request_status"]
