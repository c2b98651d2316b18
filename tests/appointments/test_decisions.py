"""Call attempts and clinicians' decisions: who, what and when, the status they drive, the audit
trail, and the kind e-mail of a "not suitable" decision that closes a request."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from appointments import services
from appointments.models import AuditEvent, CallAttempt, ClinicalDecision, OutboundEmail, StatusChange
from tests.appointments.conftest import SCREENING_MARKERS
from tests.factories import make_request, make_staff
from tests.outbox import render_pending

pytestmark = pytest.mark.django_db(transaction=True)


def test_reaching_the_patient_of_a_new_request_marks_it_contacted():
    desk = make_staff("front_desk")
    consultation_request = make_request()
    services.call_attempt_record(consultation_request=consultation_request, outcome="no_answer", by=desk)
    consultation_request.refresh_from_db()
    assert consultation_request.status == "new"
    services.call_attempt_record(consultation_request=consultation_request, outcome="reached", by=desk)
    consultation_request.refresh_from_db()
    assert consultation_request.status == "contacted"
    outcomes = list(CallAttempt.objects.order_by("pk").values_list("outcome", "made_by"))
    assert outcomes == [("no_answer", desk.pk), ("reached", desk.pk)]
    descriptions = set(AuditEvent.objects.filter(action="call").values_list("description", flat=True))
    assert descriptions == {"Call: No answer", "Call: Reached them"}
    assert StatusChange.objects.get().to_status == "contacted"


def test_an_unknown_call_outcome_is_refused():
    with pytest.raises(ValidationError):
        services.call_attempt_record(
            consultation_request=make_request(), outcome="texted", by=make_staff("front_desk")
        )
    assert CallAttempt.objects.count() == 0


def test_the_front_desk_cannot_record_a_decision():
    with pytest.raises(PermissionDenied):
        services.clinical_decision_record(
            consultation_request=make_request(), outcome="suitable", by=make_staff("front_desk")
        )
    assert ClinicalDecision.objects.count() == 0


def test_not_suitable_needs_a_reason():
    with pytest.raises(ValidationError) as refused:
        services.clinical_decision_record(
            consultation_request=make_request(), outcome="not_suitable", by=make_staff("clinician")
        )
    assert "Choose the reason it is not suitable." in refused.value.messages


def test_a_decision_is_recorded_with_who_and_when_and_audited_without_its_reason():
    clinician = make_staff("clinician")
    consultation_request = make_request()
    decision = services.clinical_decision_record(
        consultation_request=consultation_request,
        outcome="refer_elsewhere",
        details="Better served by an eating-disorder service",
        by=clinician,
    )
    assert (decision.decided_by, decision.outcome) == (clinician, "refer_elsewhere")
    assert decision.created_at is not None
    event = AuditEvent.objects.get(action="decision")
    assert event.description == "Clinical decision: Refer elsewhere"
    assert event.actor == clinician
    consultation_request.refresh_from_db()
    assert consultation_request.status == "new"


def test_not_suitable_can_close_the_request_with_a_kind_health_free_email():
    clinician = make_staff("clinician")
    consultation_request = make_request(
        first_name="Maria",
        email="maria@example.com",
        current_medications=SCREENING_MARKERS["current_medications"],
    )
    services.clinical_decision_record(
        consultation_request=consultation_request,
        outcome="not_suitable",
        reason="medicines",
        details="Cannot pause lamotrigine",
        close=True,
        by=clinician,
    )
    consultation_request.refresh_from_db()
    assert consultation_request.status == "declined"
    assert consultation_request.closed_at is not None
    change = StatusChange.objects.get()
    assert (change.from_status, change.to_status, change.changed_by) == ("new", "declined", clinician)
    assert change.note == "Clinical decision: Not suitable"
    render_pending()
    email = OutboundEmail.objects.get(dedupe_key__endswith=":not-suitable")
    assert email.to == "maria@example.com"
    assert consultation_request.reference in email.subject
    assert "Dear Maria," in email.body
    assert "988" in email.body and "your own doctor" in email.body.lower()
    everything = email.subject + email.body
    for leak in ["lamotrigine", "Lamotrigine", "medicine", "Medicines", "not suitable", "Cannot pause"]:
        assert leak not in everything


def test_only_not_suitable_closes_a_request():
    with pytest.raises(ValidationError):
        services.clinical_decision_record(
            consultation_request=make_request(), outcome="suitable", close=True, by=make_staff("clinician")
        )
    assert ClinicalDecision.objects.count() == 0
