"""Everything that changes a consultation request, and the audit record of each change.

Plain functions named ``<thing>_<action>``, keyword-only, validating with ``full_clean()`` and
running in a transaction; the admin, its actions, the patient's pages and the management
commands all call these. One module per concern:

- ``requests``: creating a request (with its two e-mails), staff notes and assignment;
- ``scheduling``: the one owner of the consultation's life, booking, moving and cancelling it for
  staff or the patient, and the request's status workflow that follows from it;
- ``alerts``: telling the on-call staff about requests that need attention;
- ``outbox``: queueing the patient's and the staff's e-mails;
- ``decisions``: call attempts and clinicians' decisions (a "not suitable" one may close the request);
- ``workspace``: what staff save on a request's page, and the list's bulk actions;
- ``patient_changes``: what the patient may move their consultation to, and the cut-off;
- ``clinicians``: a clinician's calendar feed address;
- ``reminders``: the patient's reminders before a consultation, and withdrawing stale ones;
- ``intake``: the clinical intake's pages saved on the request, its urgency and its reminder;
- ``audit``: the audit trail's records of views, changes and exports;
- ``retention``: anonymising closed requests at the end of the retention period.
"""

from .alerts import consultation_requests_alert_on_call
from .audit import (
    PATIENT,
    audit_event_record,
    consultation_request_record_view,
    consultation_requests_record_export,
    consultation_requests_record_list,
)
from .clinicians import clinician_calendar_feed_renew
from .decisions import call_attempt_record, clinical_decision_record
from .intake import (
    IntakeSaved,
    consultation_request_intake_save,
    consultation_request_urgent_alert_enqueue,
    intake_reminders_enqueue_due,
)
from .outbox import (
    appointment_email_enqueue,
    consultation_request_cancelled_email_enqueue,
    consultation_request_emails_enqueue,
    consultation_request_not_suitable_email_enqueue,
    outbound_email_enqueue,
)
from .requests import (
    REFERENCE_ATTEMPTS,
    consultation_request_assign,
    consultation_request_create,
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
from .scheduling import (
    KEEPS_APPOINTMENT,
    ChangeReason,
    MoveReason,
    SlotTaken,
    Source,
    appointment_book,
    appointment_cancel,
    appointment_move,
    consultation_request_cancel_by_patient,
    consultation_request_set_status,
    consultation_request_status_refusal,
    is_exclusion_violation,
)
from .workspace import (
    KEEP,
    StatusMoveReport,
    consultation_request_update,
    consultation_requests_assign,
    consultation_requests_set_status,
)

__all__ = [
    "MoveReason",
    "ChangeReason",
    "IntakeSaved",
    "consultation_request_intake_save",
    "consultation_request_urgent_alert_enqueue",
    "intake_reminders_enqueue_due",
    "is_exclusion_violation",
    "clinician_calendar_feed_renew",
    "appointment_book",
    "appointment_move",
    "Source",
    "SlotTaken",
    "consultation_requests_alert_on_call",
    "call_attempt_record",
    "clinical_decision_record",
    "consultation_request_not_suitable_email_enqueue",
    "KEEP",
    "StatusMoveReport",
    "consultation_request_update",
    "consultation_requests_assign",
    "consultation_requests_set_status",
    "ANONYMISED_NAME",
    "ANONYMISED_NOTE",
    "FREE_TEXT_FIELDS",
    "KEEPS_APPOINTMENT",
    "PATIENT",
    "REFERENCE_ATTEMPTS",
    "PurgeReport",
    "anonymised_email",
    "appointment_cancel",
    "appointment_email_enqueue",
    "audit_event_record",
    "consultation_request_anonymise",
    "consultation_request_assign",
    "consultation_request_cancel_by_patient",
    "consultation_request_cancelled_email_enqueue",
    "consultation_request_create",
    "consultation_request_emails_enqueue",
    "consultation_request_record_view",
    "consultation_request_set_status",
    "consultation_request_status_refusal",
    "consultation_requests_purge_closed",
    "consultation_requests_record_export",
    "consultation_requests_record_list",
    "outbound_email_enqueue",
    "staff_note_create",
]
