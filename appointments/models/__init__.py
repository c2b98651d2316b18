"""The appointments app's models: requests, the staff's work on them, the outbox, the audit trail."""

from ..questionnaire import PHQ9_FIELDS, PHQ9_ITEMS, US_STATES, Phq9Answer, phq9_band
from .audit import AuditEvent, AuditSearchTerms
from .booking import AvailabilityException, Clinician, ConsultationKind, WeeklyHours
from .drafts import BookingDraft
from .jobs import PeriodicJob, WorkerHeartbeat
from .outbox import OutboundEmail
from .requests import (
    REFERENCE_ALPHABET,
    REFERENCE_PREFIX,
    STATUS_LINK_SALT,
    ConsultationRequest,
    ConsultationRequestQuerySet,
    IntakeState,
    intake_link_signer,
    new_reference,
    new_token,
    status_link_signer,
)
from .unsaved import UnsavedStaffWork
from .workspace import Appointment, CallAttempt, ClinicalDecision, StaffNote, StatusChange, new_calendar_uid

__all__ = [
    "IntakeState",
    "PHQ9_FIELDS",
    "PHQ9_ITEMS",
    "REFERENCE_ALPHABET",
    "REFERENCE_PREFIX",
    "STATUS_LINK_SALT",
    "US_STATES",
    "Appointment",
    "AuditEvent",
    "AuditSearchTerms",
    "AvailabilityException",
    "BookingDraft",
    "Clinician",
    "ConsultationKind",
    "CallAttempt",
    "ClinicalDecision",
    "ConsultationRequest",
    "ConsultationRequestQuerySet",
    "OutboundEmail",
    "PeriodicJob",
    "Phq9Answer",
    "StaffNote",
    "StatusChange",
    "UnsavedStaffWork",
    "WorkerHeartbeat",
    "WeeklyHours",
    "new_calendar_uid",
    "new_reference",
    "new_token",
    "intake_link_signer",
    "phq9_band",
    "status_link_signer",
]
