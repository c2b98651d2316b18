"""The audit trail: who opened, changed or exported which request, and when."""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import ngettext

from ..models import AuditEvent, AuditSearchTerms, ConsultationRequest

Action = AuditEvent.Action
# Who acted, when no staff member did: the patient, from their signed status link.
PATIENT = "patient"


def audit_event_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    description: str,
    consultation_request: ConsultationRequest | None = None,
    actor_label: str = "",
) -> AuditEvent:
    """Add one event to the audit trail: who (``None`` is the patient), what, which request.

    ``description`` says what happened in a few words, never a health detail or contact detail.
    """
    event = AuditEvent(
        actor=actor,
        actor_label=actor_label or (actor.get_username() if actor else PATIENT),
        action=action,
        consultation_request=consultation_request,
        reference=consultation_request.reference if consultation_request else "",
        description=str(description)[:300],
    )
    # The links are known to exist; checking them would cost a query each.
    event.full_clean(exclude=["actor", "consultation_request"])
    event.save()
    return event


def consultation_request_record_view(
    *, consultation_request: ConsultationRequest, by: AbstractBaseUser, with_screening: bool
) -> AuditEvent:
    """Record that a staff member opened a request's page, and whether it showed screening answers."""
    if with_screening:
        description = _g("Opened the request, screening answers included")
    else:
        description = _g("Opened the request (contact details and status)")
    return audit_event_record(
        actor=by, action=Action.VIEW, consultation_request=consultation_request, description=description
    )


def consultation_requests_record_export(
    *, requests: Iterable[tuple[int, str]], by: AbstractBaseUser, with_screening: bool
) -> int:
    """Record one export event per exported request (``requests``: pairs of primary key and reference)."""
    if with_screening:
        description = _g("Exported as CSV, screening answers included")
    else:
        description = _g("Exported as CSV (contact details and status)")
    events = [
        AuditEvent(
            actor=by,
            actor_label=by.get_username(),
            action=Action.EXPORT,
            consultation_request_id=pk,
            reference=reference,
            description=description,
        )
        for pk, reference in requests
    ]
    AuditEvent.objects.bulk_create(events, batch_size=1000)
    return len(events)


def consultation_requests_record_list(
    *,
    by: AbstractBaseUser,
    where: str,
    filters: dict[str, str | list[str]],
    search_terms: str,
    rows: int,
    shown: Iterable[int],
) -> AuditEvent:
    """Record that a staff member listed, filtered or searched the requests (``where``: the list, an
    autocomplete, the calendar, the dashboard, a feed): the filters and how many rows in the event,
    with the requests it showed (``shown``: their primary keys); the search terms beside it.

    One query however many rows (with search terms, three more in a transaction).
    """
    shown = list(dict.fromkeys(shown))
    described_filters = "; ".join(
        f"{name}={','.join(values) if isinstance(values, list | tuple) else values}"
        for name, values in sorted(filters.items())
    )
    description = ngettext("%(where)s: %(rows)d request", "%(where)s: %(rows)d requests", rows) % {
        "where": where,
        "rows": rows,
    }
    if search_terms:
        description += _g(", searched")
    if described_filters:
        description += _g("; filters: %(filters)s") % {"filters": described_filters}
    event = AuditEvent(
        actor=by, actor_label=by.get_username(), action=Action.LIST, description=description[:300]
    )
    event.full_clean(exclude=["actor", "consultation_request"])
    if not search_terms:
        return _list_event_insert(event, shown)
    with transaction.atomic():
        _list_event_insert(event, shown)
        terms = AuditSearchTerms.objects.create(event=event, terms=search_terms[:200])
        terms.requests.add(*shown)
    return event


# A list event and the requests it showed, in one statement: one query however many rows, and all
# or nothing without a transaction of its own (data-modifying WITH clauses run once, referenced or not).
LIST_EVENT_INSERT = """
WITH event AS (
    INSERT INTO appointments_auditevent (actor_id, actor_label, action, reference, description, created_at)
    VALUES (%s, %s, %s, '', %s, %s)
    RETURNING id
), shown AS (
    INSERT INTO appointments_auditevent_requests_shown (auditevent_id, consultationrequest_id)
    SELECT event.id, request_id FROM event, unnest(%s::bigint[]) AS request_id
)
SELECT id FROM event
"""


def _list_event_insert(event: AuditEvent, shown: list[int]) -> AuditEvent:
    event.created_at = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            LIST_EVENT_INSERT,
            [event.actor_id, event.actor_label, event.action, event.description, event.created_at, shown],
        )
        (event.pk,) = cursor.fetchone()
    event._state.adding = False
    event._state.db = connection.alias
    return event


def appointments_record_list(
    *, by: AbstractBaseUser, where: str, appointments: Iterable, filters: dict[str, str] | None = None
) -> AuditEvent:
    """Record a list of booked appointments shown (the calendar, the times outside working hours, a
    feed) as a list of their requests: one row per appointment."""
    appointments = list(appointments)
    return consultation_requests_record_list(
        by=by,
        where=where,
        filters=filters or {},
        search_terms="",
        rows=len(appointments),
        shown=[appointment.consultation_request_id for appointment in appointments],
    )
