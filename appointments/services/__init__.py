"""Everything that changes a consultation request, and the audit record of each change.

Plain functions named ``<thing>_<action>``, keyword-only, validating with ``full_clean()`` and
running in a transaction; the admin, its actions, the patient's pages and the management
commands all call these. One module per concern:

- ``requests``: creating a request, its status workflow, staff notes and assignment;
- ``scheduling``: booking, moving and cancelling its consultation (the patient's calendar invite);
- ``audit``: the audit trail's records of views, changes and exports;
- ``retention``: anonymising closed requests at the end of the retention period.
"""

from .audit import (
    PATIENT,
    audit_event_record,
    consultation_request_record_view,
    consultation_requests_record_export,
)
from .requests import (
    FLAG_RULES,
    KEEPS_APPOINTMENT,
    REFERENCE_ATTEMPTS,
    consultation_request_assign,
    consultation_request_cancel_by_patient,
    consultation_request_create,
    consultation_request_flags,
    consultation_request_is_urgent,
    consultation_request_set_status,
    consultation_request_status_refusal,
    phq9_total,
    staff_note_create,
)
from .retention import (
    ANONYMISED_NAME,
    ANONYMISED_NOTE,
    FREE_TEXT_FIELDS,
    PurgeReport,
    anonymised_email,
    consultation_request_anonymise,
    consultation_requests_purge_closed,
)
from .scheduling import appointment_cancel, appointment_cancel_locked, appointment_schedule

__all__ = [
    "ANONYMISED_NAME",
    "ANONYMISED_NOTE",
    "FLAG_RULES",
    "FREE_TEXT_FIELDS",
    "KEEPS_APPOINTMENT",
    "PATIENT",
    "REFERENCE_ATTEMPTS",
    "PurgeReport",
    "anonymised_email",
    "appointment_cancel",
    "appointment_cancel_locked",
    "appointment_schedule",
    "audit_event_record",
    "consultation_request_anonymise",
    "consultation_request_assign",
    "consultation_request_cancel_by_patient",
    "consultation_request_create",
    "consultation_request_flags",
    "consultation_request_is_urgent",
    "consultation_request_record_view",
    "consultation_request_set_status",
    "consultation_request_status_refusal",
    "consultation_requests_purge_closed",
    "consultation_requests_record_export",
    "phq9_total",
    "staff_note_create",
]
