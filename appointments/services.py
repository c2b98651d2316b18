"""Everything that changes a consultation request: creating it, and the patient's cancellation."""

import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from . import emails
from .models import ConsultationRequest, new_reference, new_token

logger = logging.getLogger(__name__)

Request = ConsultationRequest
Flag = ConsultationRequest.Flag

# Each clinician flag, and the answers that raise it. Flags are for staff only.
FLAG_RULES = [
    (Flag.SELF_HARM, lambda r: r.is_urgent),
    (Flag.MANIA, lambda r: r.episode in {Request.Episode.MANIC, Request.Episode.MIXED}),
    (Flag.PSYCHOSIS, lambda r: r.psychosis_history),
    (Flag.CARDIOVASCULAR, lambda r: r.high_blood_pressure or r.heart_disease_or_stroke),
    (Flag.PREGNANCY, lambda r: r.pregnant_or_breastfeeding),
    (Flag.SUBSTANCE_USE, lambda r: r.substance_use),
    (Flag.SEIZURES, lambda r: r.seizures),
    (Flag.LIVER, lambda r: r.liver_disease),
    (Flag.BLADDER, lambda r: r.bladder_problems),
    (Flag.EYE_PRESSURE, lambda r: r.raised_eye_pressure),
    (Flag.PHQ9_SEVERE, lambda r: phq9_total(r) is not None and phq9_total(r) >= 20),
]
# A new reference is drawn when one collides; with about 40 bits each, a second draw is already rare.
REFERENCE_ATTEMPTS = 5


def phq9_total(consultation_request: ConsultationRequest) -> int | None:
    """The PHQ-9 score of answers not yet saved (the database computes the stored one)."""
    answers = consultation_request.phq9_answers
    return None if None in answers else sum(answers)


def consultation_request_is_urgent(*, consultation_request: ConsultationRequest) -> bool:
    """Current thoughts of self-harm: the direct question, or PHQ-9 item 9 above zero."""
    return bool(consultation_request.self_harm_thoughts or (consultation_request.phq9_9 or 0) > 0)


def consultation_request_flags(*, consultation_request: ConsultationRequest) -> list[str]:
    """The clinician flags the answers raise, in a stable order."""
    return [str(flag) for flag, applies in FLAG_RULES if applies(consultation_request)]


def _queue_emails(pk):
    def queue_consultation_request_emails():
        emails.consultation_request_emails_enqueue(consultation_request_id=pk)

    return queue_consultation_request_emails


def _queue_cancelled_email(pk):
    def queue_cancelled_email():
        emails.consultation_request_cancelled_email_enqueue(consultation_request_id=pk)

    return queue_cancelled_email


@sensitive_variables()
def consultation_request_create(
    *, form_token: str, answers: Mapping[str, Any], source_article_slug: str = ""
) -> tuple[ConsultationRequest, bool]:
    """Save a patient's request with its urgency and flags, and queue its two e-mails.

    ``form_token`` is the one-time token of the form the patient sent: sending the same form
    twice (a double click, a resubmit) returns the first request and ``created=False``.
    """
    existing = ConsultationRequest.objects.filter(form_token=form_token).first()
    if existing is not None:
        return existing, False

    consultation_request = ConsultationRequest(
        form_token=form_token, source_article_slug=source_article_slug, **answers
    )
    consultation_request.is_urgent = consultation_request_is_urgent(consultation_request=consultation_request)
    consultation_request.flags = consultation_request_flags(consultation_request=consultation_request)
    consultation_request.reference = new_reference()
    # Uniqueness is the database's job (a second query could not close the race anyway), and
    # clean() checks in Python what the check constraints enforce in PostgreSQL.
    consultation_request.full_clean(validate_unique=False, validate_constraints=False)

    with transaction.atomic():
        for attempt in range(1, REFERENCE_ATTEMPTS + 1):
            try:
                with transaction.atomic():
                    consultation_request.save(force_insert=True)
                break
            except IntegrityError:
                # Either the same form arrived twice at once (the other copy won), or a
                # random reference or token collided: find the first, or draw again.
                existing = ConsultationRequest.objects.filter(form_token=form_token).first()
                if existing is not None:
                    return existing, False
                if attempt == REFERENCE_ATTEMPTS:
                    raise
                consultation_request.pk = None
                consultation_request.reference = new_reference()
                consultation_request.confirmation_token = new_token()
        # Robust: a failure to queue the e-mails must not fail the patient's saved request
        # (the mail worker queues any that are missing). A named function, not a partial:
        # Django logs a robust callback's failure by its __qualname__.
        transaction.on_commit(_queue_emails(consultation_request.pk), robust=True)
    logger.info("Consultation request %s saved", consultation_request.pk)
    return consultation_request, True


def consultation_request_cancel_by_patient(
    *, consultation_request: ConsultationRequest
) -> ConsultationRequest:
    """The patient cancels their request from the signed link in their e-mail; staff are told."""
    target = ConsultationRequest.Status.CANCELLED_BY_PATIENT
    with transaction.atomic():
        locked = ConsultationRequest.objects.select_for_update().get(pk=consultation_request.pk)
        if locked.status == target:
            return locked
        if not locked.can_move_to(target):
            raise ValidationError(
                _("This request can no longer be cancelled online. Please call us instead."),
                code="invalid_transition",
            )
        locked.status = target
        locked.save(update_fields=["status", "updated_at"])
        transaction.on_commit(_queue_cancelled_email(locked.pk), robust=True)
    logger.info("Consultation request %s cancelled by the patient", locked.pk)
    return locked
