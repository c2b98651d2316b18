"""What staff record about reaching the patient and about fit: call attempts and clinical decisions."""

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from ..models import AuditEvent, CallAttempt, ClinicalDecision, ConsultationRequest
from ..roles import can_decide
from . import outbox
from .audit import audit_event_record
from .scheduling import consultation_request_set_status

logger = logging.getLogger(__name__)

Status = ConsultationRequest.Status
Action = AuditEvent.Action
Outcome = ClinicalDecision.Outcome


def call_attempt_record(
    *, consultation_request: ConsultationRequest, outcome: str, by: AbstractBaseUser
) -> CallAttempt:
    """Record a call to the patient and its outcome. Reaching a new request's patient marks it
    contacted."""
    attempt = CallAttempt(consultation_request=consultation_request, outcome=outcome, made_by=by)
    attempt.full_clean(exclude=["consultation_request", "made_by"])
    with transaction.atomic():
        attempt.save()
        audit_event_record(
            actor=by,
            action=Action.CALL,
            consultation_request=consultation_request,
            description=_g("Call: %(outcome)s") % {"outcome": attempt.get_outcome_display()},
        )
        if outcome == CallAttempt.Outcome.REACHED and consultation_request.status == Status.NEW:
            consultation_request_set_status(
                consultation_request=consultation_request, status=Status.CONTACTED, by=by
            )
            consultation_request.status = Status.CONTACTED
    return attempt


def clinical_decision_record(
    *,
    consultation_request: ConsultationRequest,
    outcome: str,
    by: AbstractBaseUser,
    reason: str = "",
    details: str = "",
    close: bool = False,
) -> ClinicalDecision:
    """Record a clinician's decision on a request, who made it and when.

    With ``close``, a "not suitable" decision declines the request and queues a kind e-mail to
    the patient that names no health detail and points to other help. Only those with the
    ``record_clinical_decision`` permission may decide (``PermissionDenied`` otherwise).
    """
    if not can_decide(by):
        raise PermissionDenied
    if close and outcome != Outcome.NOT_SUITABLE:
        raise ValidationError(_("Only a “not suitable” decision closes the request."), code="not_closing")
    decision = ClinicalDecision(
        consultation_request=consultation_request,
        outcome=outcome,
        reason=reason,
        details=details.strip(),
        decided_by=by,
    )
    decision.full_clean(exclude=["consultation_request", "decided_by"])
    with transaction.atomic():
        decision.save()
        # The outcome only: the audit trail is read by people who need not see clinical reasons.
        audit_event_record(
            actor=by,
            action=Action.DECISION,
            consultation_request=consultation_request,
            description=_g("Clinical decision: %(outcome)s") % {"outcome": decision.get_outcome_display()},
        )
        if close:
            consultation_request_set_status(
                consultation_request=consultation_request,
                status=Status.DECLINED,
                by=by,
                note=_g("Clinical decision: %(outcome)s") % {"outcome": decision.get_outcome_display()},
            )
            consultation_request.status = Status.DECLINED
            outbox.consultation_request_not_suitable_email_enqueue(
                consultation_request_id=consultation_request.pk
            )
    logger.info(
        "Clinical decision %s recorded on consultation request %s", decision.pk, consultation_request.pk
    )
    return decision
