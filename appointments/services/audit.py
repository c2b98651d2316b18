"""The audit trail: who opened, changed or exported which request, and when."""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
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
    autocomplete): the filters and how many rows in the event, the search terms beside it."""
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
    if not search_terms:
        return audit_event_record(actor=by, action=Action.LIST, description=description)
    with transaction.atomic():
        event = audit_event_record(actor=by, action=Action.LIST, description=description)
        terms = AuditSearchTerms.objects.create(event=event, terms=search_terms[:200])
        terms.requests.add(*shown)
    return event
