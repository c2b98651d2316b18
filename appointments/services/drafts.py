"""A booking in progress: its steps saved, sent as a request, expired, or escalated when urgent.

A draft's answers may be health data: nothing here logs them, and they are deleted when the
request is sent or the draft expires.
"""

import datetime
import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from clinic import rate_limits

from .. import questionnaire, targets
from ..booking_times import appointment_modality
from ..models import (
    Appointment,
    BookingDraft,
    Clinician,
    ConsultationKind,
    ConsultationRequest,
    new_reference,
)
from ..models.drafts import DRAFT_LIFETIME, URGENT_DRAFT_AFTER
from ..slots import nearest_open_slots, open_slots
from .alerts import unfinished_requests_summary_enqueue
from .outbox import consultation_request_emails_enqueue
from .requests import consultation_request_insert, consultation_request_saving
from .scheduling import SlotTaken, Source, appointment_book

logger = logging.getLogger(__name__)

CONTACT_STEP = questionnaire.sections(stage=questionnaire.BOOKING)[0].id
# The strict per-client limit Send counts new requests in: an unfinished request counts there too.
REQUEST_CREATE_GROUP = "appointments.request_create"
# An urgent draft whose e-mail or phone number is already that of an open urgent request received
# this recently is not brought to staff again: they already have that patient to call.
DUPLICATE_WITHIN = DRAFT_LIFETIME
# In its last hour a draft is brought to staff whatever its client's count: none is deleted unseen.
LAST_CALL = datetime.timedelta(hours=1)
# The clinic-wide count of unfinished requests e-mailed to staff one by one.
ALERTED_GROUP = "appointments.unfinished.alerted"


@sensitive_variables()
def booking_draft_save_step(
    *,
    draft: BookingDraft | None,
    step: str,
    answers: Mapping[str, Any],
    source_article_slug: str = "",
    language: str = ConsultationRequest.Language.ENGLISH,
    client_key: str = "",
) -> BookingDraft:
    """Keep one step's answers in the patient's draft (a new draft if ``draft`` is None), in the
    ``language`` of the page they were given on, from the client ``client_key``
    (``clinic.rate_limits.client_key``: the draft counts against it if it reaches staff unsent)."""
    now = timezone.now()
    if draft is None:
        draft = BookingDraft(source_article_slug=source_article_slug)
    draft.language = language
    if client_key:
        draft.client_key = client_key
    previous = draft.step_answers(step)
    draft.answers = {**draft.answers, step: dict(answers)}
    # A time was chosen for a kind, held one way, with the clinicians of one state: another
    # answer to either question means choosing again.
    if any(previous.get(name) != answers.get(name) for name in ("modality", "state") if name in previous):
        draft.chosen_kind = None
        draft.chosen_starts_at = None
    given = draft.all_answers()
    draft.reports_self_harm = bool(given.get("self_harm_thoughts"))
    draft.has_contact_details = CONTACT_STEP in draft.answers
    draft.updated_at = now
    draft.expires_at = now + DRAFT_LIFETIME
    if draft.pk is None:
        draft.save()
    else:
        # Only what this step changes: the urgent drafts' job may link the draft to its request meanwhile.
        draft.save(
            update_fields=[
                "language",
                "client_key",
                "answers",
                "chosen_kind",
                "chosen_starts_at",
                "reports_self_harm",
                "has_contact_details",
                "updated_at",
                "expires_at",
            ]
        )
    return draft


def booking_draft_choose_time(
    *,
    draft: BookingDraft,
    kind: ConsultationKind | None,
    starts_at: datetime.datetime | None,
    time_zone: str = "",
) -> BookingDraft:
    """Keep the open time the patient chose (booked on Send), or none: "call me to find a time".

    ``time_zone`` is the zone they read the times in as well as the clinic's (kept either way).
    """
    if (kind is None) != (starts_at is None):
        raise ValueError("a time needs its kind, and a kind its time")
    now = timezone.now()
    draft.chosen_kind = kind
    draft.chosen_starts_at = starts_at
    if time_zone:
        draft.time_zone = time_zone
    draft.updated_at = now
    draft.expires_at = now + DRAFT_LIFETIME
    draft.save(update_fields=["chosen_kind", "chosen_starts_at", "time_zone", "updated_at", "expires_at"])
    return draft


@sensitive_variables()
def booking_draft_send(
    *, draft: BookingDraft, form_token: str, answers: Mapping[str, Any]
) -> tuple[ConsultationRequest, bool]:
    """Send the draft as a consultation request, with the last step's ``answers``; delete the draft.

    One transaction: the request and the appointment at the chosen time (if any) are saved, their
    e-mails queued and the draft deleted, or nothing is. A chosen time taken meanwhile raises
    ``SlotTaken`` with the nearest open times for the patient's state, and nothing is saved (the exclusion constraint on appointments has the last word). A
    draft that already reached staff as an unfinished urgent request completes that request. A
    draft sent meanwhile (a double click) returns the request it became, with ``created=False``.
    """
    return consultation_request_saving(form_token, _send, draft=draft, form_token=form_token, answers=answers)


@sensitive_variables()
def _send(*, draft, form_token, answers):
    taken = _draft_take(draft.pk)
    if taken is None:
        # Sent meanwhile by a second click on Send, which deleted it first: its request is this one.
        sent = ConsultationRequest.objects.filter(form_token=draft.form_token).order_by().first()
        if sent is None:
            raise BookingDraft.DoesNotExist
        return sent, False
    draft = taken
    given = {**draft.all_answers(), **answers}
    unfinished = draft.consultation_request_id is not None
    if unfinished:
        consultation_request = _complete_unfinished(draft.consultation_request, given)
    else:
        consultation_request = consultation_request_insert(
            form_token=form_token,
            answers=given,
            source_article_slug=draft.source_article_slug,
            language=draft.language,
        )
    if (
        draft.chosen_starts_at is not None
        and draft.chosen_kind is not None
        and consultation_request.is_open
        # An unfinished request the clinic has already booked by phone keeps that booking.
        and not (
            unfinished and consultation_request.appointments.filter(status=Appointment.Status.BOOKED).exists()
        )
    ):
        _book_chosen_time(consultation_request, draft)
    return consultation_request, True


def _draft_take(pk):
    """Delete the draft and return it as it was, or None if it is gone: one statement that also
    locks it, so that of two Sends of one draft only the first finds it (the second waits for the
    first's transaction, and finds it only if that one was rolled back)."""
    taken = BookingDraft.objects.raw("DELETE FROM appointments_bookingdraft WHERE id = %s RETURNING *", [pk])
    return next(iter(taken), None)


def _book_chosen_time(consultation_request, draft):
    """Book the draft's time with a clinician free then (the patient chose a time, not a clinician)."""
    now = timezone.now()
    kind, starts_at = draft.chosen_kind, draft.chosen_starts_at
    state = consultation_request.state
    day = timezone.localtime(starts_at).date()
    slots = open_slots(kind=kind, now=now, state=state, first_day=day - datetime.timedelta(days=1), days=3)
    free = [slot.clinician_id for slot in slots if slot.starts_at == starts_at]
    clinicians = Clinician.objects.in_bulk(free)
    for clinician_id in free:
        try:
            return appointment_book(
                consultation_request=consultation_request,
                clinician=clinicians[clinician_id],
                kind=kind,
                starts_at=starts_at,
                modality=appointment_modality(consultation_request.modality),
                source=Source.PATIENT,
                now=now,
            )
        except SlotTaken:
            continue
    raise SlotTaken(nearest=nearest_open_slots(kind=kind, around=starts_at, now=now, state=state))


def _complete_unfinished(consultation_request, answers):
    locked = ConsultationRequest.objects.select_for_update().get(pk=consultation_request.pk)
    for name, value in answers.items():
        setattr(locked, name, value)
    locked.is_unfinished = False
    locked.is_urgent = locked.is_urgent or locked.reports_self_harm()
    locked.flags = locked.answer_flags()
    locked.full_clean(validate_unique=False, validate_constraints=False)
    locked.save()
    # The staff alert went when it reached them (queued again, it is left as it is); the patient's
    # acknowledgement goes now.
    consultation_request_emails_enqueue(
        consultation_request_id=locked.pk, email=locked.email, is_unfinished=False
    )
    return locked


def booking_draft_delete(*, draft: BookingDraft) -> None:
    """Delete a draft whose answers were already sent (a second Send of the same submission)."""
    BookingDraft.objects.filter(pk=draft.pk, consultation_request__isnull=True).delete()


def booking_drafts_delete_expired() -> int:
    """Delete the drafts past their lifetime (they may hold health answers); return how many."""
    deleted, _by_model = BookingDraft.objects.filter(expires_at__lte=timezone.now()).delete()
    if deleted:
        logger.info("Deleted %d expired booking draft(s)", deleted)
    return deleted


@sensitive_variables()
def booking_drafts_escalate_urgent() -> list[ConsultationRequest]:
    """Turn each draft that reports thoughts of self-harm, has contact details and was left for
    ``URGENT_DRAFT_AFTER`` into an unfinished urgent request, and alert staff as for any urgent one.

    The patient agreed on the first step that the clinic may contact them about an unfinished
    request that shows they may be at risk. Each draft once: it keeps a link to its request. So
    that abandoned drafts cannot bury the staff, as a request sent with Send would not:

    - a draft whose e-mail address or phone number is that of an open urgent request received in
      the last ``DUPLICATE_WITHIN`` waits (staff already have that patient to call), and is brought
      to staff only if that request closes before the draft expires;
    - each counts against its client's strict limit (``CONSULTATION_RATE_LIMIT``, the one Send
      counts in); one over it waits for a later run, and in its last hour (``LAST_CALL``) comes
      whatever the count, so that none is deleted unseen;
    - staff are e-mailed one by one for ``URGENT_DRAFT_ALERT_LIMIT`` of them, clinic-wide; past
      that a request is still made, without an e-mail of its own, and one summary e-mail a period
      says how many more are waiting in the workspace.

    A count that cannot be made (Redis is down) holds nothing back: each comes with its e-mail.
    """
    now = timezone.now()
    at = now.timestamp()
    created = []
    waiting = duplicates = unalerted = 0
    drafts = BookingDraft.objects.select_for_update(skip_locked=True).filter(
        reports_self_harm=True,
        has_contact_details=True,
        consultation_request__isnull=True,
        updated_at__lte=now - URGENT_DRAFT_AFTER,
        expires_at__gt=now,
    )
    with transaction.atomic():
        drafts = list(drafts.order_by("updated_at", "pk"))
        known = _contacts_with_staff(drafts, now)
        over_limit = set()  # The clients this run found over their limit: their other drafts wait too.
        for draft in drafts:
            contact = _contact_of(draft)
            if contact & known:
                duplicates += 1
                continue
            if draft.expires_at - now > LAST_CALL and (
                draft.client_key in over_limit
                or rate_limits.count_client_key(
                    draft.client_key, group=REQUEST_CREATE_GROUP, rate=settings.CONSULTATION_RATE_LIMIT, at=at
                ).over
            ):
                over_limit.add(draft.client_key)
                waiting += 1
                continue
            alert = not rate_limits.count(
                ALERTED_GROUP, "clinic", rate=settings.URGENT_DRAFT_ALERT_LIMIT, at=at
            ).over
            created.append(_unfinished_request_create(draft, now, alert=alert))
            known |= contact
            unalerted += not alert
        if unalerted:
            unfinished_requests_summary_enqueue(
                count=unalerted, now=now, rate=settings.URGENT_DRAFT_ALERT_LIMIT
            )
    # Counts only: which requests came this way would say which patients may be at risk.
    if created:
        logger.info("Brought %d unfinished booking(s) to staff", len(created))
    if unalerted:
        logger.warning(
            "%d unfinished booking(s) brought to staff past the e-mail limit (one summary a period)",
            unalerted,
        )
    if waiting or duplicates:
        logger.info(
            "Unfinished bookings held back: %d over their client's limit, %d already with staff",
            waiting,
            duplicates,
        )
    return created


def _contact_of(draft):
    """The draft's e-mail address (lower case) and phone number, as a set to compare."""
    contact = draft.step_answers(CONTACT_STEP)
    found = set()
    if email := (contact.get("email") or "").strip().lower():
        found.add(("email", email))
    if phone := contact.get("phone") or "":
        found.add(("phone", phone))
    return found


def _contacts_with_staff(drafts, now):
    """The e-mail addresses and phone numbers of these drafts that open urgent requests received
    in the last ``DUPLICATE_WITHIN`` already have, in the form ``_contact_of`` gives."""
    contacts = set().union(*(_contact_of(draft) for draft in drafts)) if drafts else set()
    emails = [value for kind, value in contacts if kind == "email"]
    phones = [value for kind, value in contacts if kind == "phone"]
    if not contacts:
        return set()
    rows = (
        ConsultationRequest.objects.open()
        .filter(is_urgent=True, created_at__gte=now - DUPLICATE_WITHIN)
        .annotate(email_lower=Lower("email"))
        .filter(Q(email_lower__in=emails) | Q(phone__in=phones))
        .values_list("email_lower", "phone")
    )
    known = set()
    for email, phone in rows:
        known |= {("email", email), ("phone", phone)}
    return known & contacts


def _unfinished_request_create(draft, now, *, alert=True):
    """The draft as an unfinished urgent request, with its staff alert queued unless ``alert`` is
    false (past the limit: the summary e-mail tells staff)."""
    answers = draft.all_answers()
    consultation_request = ConsultationRequest(
        form_token=draft.form_token,
        source_article_slug=draft.source_article_slug,
        language=draft.language,
        is_unfinished=True,
        is_urgent=True,
        respond_by=targets.respond_by(received=now, urgent=True),
        reference=new_reference(),
        **answers,
    )
    consultation_request.flags = consultation_request.answer_flags()
    # The questions after the patient stopped have no answer yet (a consent not yet given is false).
    unanswered = []
    for section in questionnaire.sections(stage=questionnaire.BOOKING):
        for question in section.questions:
            if question.name not in answers:
                unanswered.append(question.name)
                if question.kind == questionnaire.Kind.CONSENT:
                    setattr(consultation_request, question.name, False)
    consultation_request.full_clean(exclude=unanswered, validate_unique=False, validate_constraints=False)
    consultation_request.save(force_insert=True)
    if alert:
        consultation_request_emails_enqueue(
            consultation_request_id=consultation_request.pk,
            email=consultation_request.email,
            is_unfinished=True,
        )
    draft.consultation_request = consultation_request
    draft.save(update_fields=["consultation_request"])
    return consultation_request
