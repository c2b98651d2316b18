"""A request's own life: created from the form (with its two e-mails), noted, assigned.

Its status, which follows its consultation's, is ``scheduling``'s: ``consultation_request_set_status``.
"""

import logging
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import Error, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from .. import targets
from ..models import (
    AuditEvent,
    ConsultationRequest,
    StaffNote,
    new_reference,
)
from . import outbox
from .audit import audit_event_record

logger = logging.getLogger(__name__)

Request = ConsultationRequest
Flag = ConsultationRequest.Flag
Status = ConsultationRequest.Status
Action = AuditEvent.Action

# A new reference is drawn when one collides; with about 40 bits each, a second draw is already rare.
REFERENCE_ATTEMPTS = 5
# The unique columns of a new request: a reference and a confirmation token drawn at random (drawn
# again when one collides) and the form's token (taken: the same form sent twice).
NEW_REQUEST_UNIQUES = {
    f"appointments_consultationrequest_{column}_key"
    for column in ("reference", "confirmation_token", "form_token")
}


def sqlstate(error: Error) -> str | None:
    """The SQLSTATE of the PostgreSQL error behind a Django database error, if there is one."""
    cause = error.__cause__
    return getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)


def constraint_name(error: Error) -> str | None:
    """The constraint PostgreSQL named when it refused a row, if it named one."""
    return getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)


@sensitive_variables()
def consultation_request_create(
    *,
    form_token: str,
    answers: Mapping[str, Any],
    source_article_slug: str = "",
    language: str = ConsultationRequest.Language.ENGLISH,
) -> tuple[ConsultationRequest, bool]:
    """Save a patient's request with its urgency and flags, and queue its two e-mails with it.

    ``language`` is the language of the pages it was sent from: the patient's e-mails are in it.

    ``form_token`` is the one-time token of the form the patient sent: sending the same form
    twice (a double click, a resubmit) returns the first request and ``created=False``.
    """
    return consultation_request_saving(
        form_token,
        _inserted,
        form_token=form_token,
        answers=answers,
        source_article_slug=source_article_slug,
        language=language,
    )


@sensitive_variables()
def _inserted(**fields):
    return consultation_request_insert(**fields), True


@sensitive_variables()
def consultation_request_saving(form_token, save, /, **fields):
    """Run ``save(**fields)``, which INSERTs one new request with ``form_token`` and returns
    ``(request, created)``, in a transaction of its own: again with a new reference if the random
    one collided, and returning ``(the first request, False)`` if the token is taken (the same form
    sent twice at once). Any other refusal is raised at once.

    The unique columns refuse a second INSERT, which costs nothing until it happens; a savepoint
    around the INSERT would cost two statements on every request to save a retry once in a billion.
    """
    attempt = 1
    while True:
        try:
            with transaction.atomic():
                consultation_request, created = save(**fields)
        except IntegrityError as error:
            if constraint_name(error) not in NEW_REQUEST_UNIQUES:
                raise
            existing = ConsultationRequest.objects.filter(form_token=form_token).order_by().first()
            if existing is not None:
                return existing, False
            if attempt == REFERENCE_ATTEMPTS:
                raise
            attempt += 1
            continue
        if created:
            logger.info("Consultation request %s saved", consultation_request.pk)
        return consultation_request, created


@sensitive_variables()
def consultation_request_insert(
    *, form_token: str, answers: Mapping[str, Any], source_article_slug: str, language: str
) -> ConsultationRequest:
    """INSERT a new request and its two e-mails, within the caller's transaction
    (``consultation_request_saving``'s)."""
    consultation_request = ConsultationRequest(
        form_token=form_token,
        source_article_slug=source_article_slug,
        language=language,
        **answers,
    )
    consultation_request.is_urgent = consultation_request.reports_self_harm()
    consultation_request.respond_by = targets.respond_by(
        received=timezone.now(), urgent=consultation_request.is_urgent
    )
    consultation_request.flags = consultation_request.answer_flags()
    consultation_request.reference = new_reference()
    # Uniqueness is the database's job (a second query could not close the race anyway), and
    # clean() checks in Python what the check constraints enforce in PostgreSQL.
    consultation_request.full_clean(validate_unique=False, validate_constraints=False)
    consultation_request.save(force_insert=True)
    outbox.consultation_request_emails_enqueue(
        consultation_request_id=consultation_request.pk, email=consultation_request.email, is_unfinished=False
    )
    return consultation_request


def staff_note_create(
    *,
    consultation_request: ConsultationRequest,
    author: AbstractBaseUser,
    text: str,
    clinicians_only: bool = False,
) -> StaffNote:
    """Add a note to the request's thread, signed by ``author`` and timestamped. Notes are never edited."""
    note = StaffNote(
        consultation_request=consultation_request,
        author=author,
        text=text.strip(),
        clinicians_only=clinicians_only,
    )
    note.full_clean(exclude=["consultation_request", "author"])
    with transaction.atomic():
        note.save()
        audit_event_record(
            actor=author,
            action=Action.NOTE,
            consultation_request=consultation_request,
            description=_g("Added a note for clinicians") if clinicians_only else _g("Added a note"),
        )
    return note


def consultation_request_assign(
    *,
    consultation_request: ConsultationRequest,
    assignee: AbstractBaseUser | None,
    by: AbstractBaseUser,
) -> ConsultationRequest:
    """Give the request to a staff member (or to nobody, with ``assignee=None``)."""
    if assignee is not None and not (assignee.is_active and assignee.is_staff):
        raise ValidationError(_("Assign the request to an active staff member."), code="not_staff")
    with transaction.atomic():
        locked = ConsultationRequest.objects.select_for_update().get(pk=consultation_request.pk)
        if locked.assigned_to_id == (assignee.pk if assignee else None):
            return locked
        locked.assigned_to = assignee
        locked.save(update_fields=["assigned_to", "updated_at"])
        if assignee is None:
            description = _g("Unassigned")
        else:
            description = _g("Assigned to %(name)s") % {"name": assignee.get_username()}
        audit_event_record(
            actor=by, action=Action.CHANGE, consultation_request=locked, description=description
        )
    return locked
