"""The staff workspace for consultation requests, the audit trail and the e-mail outbox."""

from .booking import ClinicianAdmin, ConsultationKindAdmin
from .records import AuditEventAdmin, OutboundEmailAdmin
from .requests import ConsultationRequestAdmin

__all__ = [
    "AuditEventAdmin",
    "ClinicianAdmin",
    "ConsultationKindAdmin",
    "ConsultationRequestAdmin",
    "OutboundEmailAdmin",
]
