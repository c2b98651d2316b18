"""The staff workspace for consultation requests, the audit trail and the e-mail outbox."""

from .records import AuditEventAdmin, OutboundEmailAdmin
from .requests import ConsultationRequestAdmin

__all__ = ["AuditEventAdmin", "ConsultationRequestAdmin", "OutboundEmailAdmin"]
