"""What staff change on requests in the workspace: one request's page, and the list's bulk actions.

Each is one service that owns its transaction and calls the services of the single changes
(assignment, notes, status, scheduling). A refusal is a ``ValidationError`` whose message says why;
on a request's page nothing of the change is kept.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import Appointment, ConsultationRequest
from ..roles import can_view_screening
from .decisions import call_attempt_record, clinical_decision_record
from .requests import consultation_request_assign, staff_note_create
from .scheduling import (
    Source,
    appointment_book,
    appointment_cancel,
    appointment_move,
    consultation_request_set_status,
)

# "Leave the assignment as it is", which None (nobody) cannot say.
KEEP = object()


def consultation_request_update(
    *,
    consultation_request: ConsultationRequest,
    by: AbstractBaseUser,
    assignee: Any = KEEP,
    note: str = "",
    note_clinicians_only: bool = False,
    call_outcome: str = "",
    decision: Mapping[str, Any] | None = None,
    status: str | None = None,
    cancel_appointment: Appointment | None = None,
    schedule: Mapping[str, Any] | None = None,
) -> Appointment | None:
    """Save what a staff member changed on a request's page, all of it or (on a refusal) none.

    In this order: the assignment (``assignee``, a staff member or None for nobody), a new note
    (for clinicians only if ``by`` may read screening answers), a call attempt's outcome, a
    clinician's decision (``decision``: the keyword arguments of ``clinical_decision_record``),
    the status, cancelling the booked consultation, and booking or changing it (``schedule``: the
    time typed in, as keyword arguments of ``appointment_book`` and ``appointment_move``). Raises ``ValidationError`` when any of them is refused.
    Returns the booked or moved appointment when ``schedule`` was given, otherwise None.
    """
    with transaction.atomic():
        if assignee is not KEEP:
            consultation_request_assign(consultation_request=consultation_request, assignee=assignee, by=by)
        if note:
            staff_note_create(
                consultation_request=consultation_request,
                author=by,
                text=note,
                clinicians_only=note_clinicians_only and can_view_screening(by),
            )
        if call_outcome:
            call_attempt_record(consultation_request=consultation_request, outcome=call_outcome, by=by)
        if decision:
            clinical_decision_record(consultation_request=consultation_request, by=by, **decision)
        if status:
            consultation_request_set_status(consultation_request=consultation_request, status=status, by=by)
        if cancel_appointment is not None:
            appointment_cancel(appointment=cancel_appointment, source=Source.STAFF, by=by)
        if schedule:
            booked = consultation_request.appointments.filter(status=Appointment.Status.BOOKED).first()
            if booked is None:
                return appointment_book(
                    consultation_request=consultation_request, source=Source.STAFF, by=by, **schedule
                )
            return appointment_move(appointment=booked, source=Source.STAFF, by=by, **schedule)
    return None


@dataclass
class StatusMoveReport:
    moved: int = 0
    unchanged: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (reference, why)


def consultation_requests_set_status(
    *, consultation_requests: Iterable[ConsultationRequest], status: str, by: AbstractBaseUser
) -> StatusMoveReport:
    """Move each request to ``status``, each in a transaction of its own: a refused one (with the
    reason) leaves the others moved."""
    report = StatusMoveReport()
    for consultation_request in consultation_requests:
        if consultation_request.status == status:
            report.unchanged += 1
            continue
        try:
            consultation_request_set_status(consultation_request=consultation_request, status=status, by=by)
        except ValidationError as error:
            report.refused.append((consultation_request.reference, " ".join(error.messages)))
        else:
            report.moved += 1
    return report


def consultation_requests_assign(
    *, consultation_requests: Iterable[ConsultationRequest], assignee: AbstractBaseUser, by: AbstractBaseUser
) -> int:
    """Give every one of the requests to ``assignee``; return how many there were."""
    count = 0
    with transaction.atomic():
        for consultation_request in consultation_requests:
            consultation_request_assign(consultation_request=consultation_request, assignee=assignee, by=by)
            count += 1
    return count
