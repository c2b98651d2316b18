"""The services that create and cancel requests: validation, urgency, flags, references."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from appointments import services
from appointments.models import (
    REFERENCE_ALPHABET,
    ConsultationRequest,
    OutboundEmail,
    StatusChange,
    new_reference,
    new_token,
)
from appointments.services import (
    consultation_request_cancel_by_patient,
    consultation_request_create,
    consultation_request_set_status,
)
from tests.factories import request_answers

pytestmark = pytest.mark.django_db

Flag = ConsultationRequest.Flag


def create(**overrides):
    consultation_request, created = consultation_request_create(
        form_token=new_token(), answers=request_answers(**overrides)
    )
    assert created
    return consultation_request


def test_reference_is_human_friendly_and_avoids_ambiguous_characters():
    for _ in range(200):
        reference = new_reference()
        assert len(reference) == 12 and reference[:3] == "KC-" and reference[7] == "-"
        assert set(reference[3:7] + reference[8:]) <= set(REFERENCE_ALPHABET)
    assert not set("01OIL") & set(REFERENCE_ALPHABET)


def test_str_shows_reference_and_date_never_a_name(time_machine):
    # Late evening in New York, already the next day in UTC: the date is the clinic's.
    time_machine.move_to(datetime.datetime(2026, 3, 10, 2, 30, tzinfo=datetime.UTC), tick=False)
    consultation_request = create(first_name="Sam", last_name="Rivera")
    text = str(consultation_request)
    assert text == f"{consultation_request.reference} (2026-03-09)"
    assert "Sam" not in text and "Rivera" not in text


@pytest.mark.parametrize(
    ("answers", "flags"),
    [
        ({}, []),
        ({"episode": "manic"}, [Flag.MANIA]),
        ({"episode": "mixed", "concern": "bipolar_depression"}, [Flag.MANIA]),
        ({"psychosis_history": True}, [Flag.PSYCHOSIS]),
        ({"high_blood_pressure": True}, [Flag.CARDIOVASCULAR]),
        ({"heart_disease_or_stroke": True}, [Flag.CARDIOVASCULAR]),
        ({"pregnant_or_breastfeeding": True}, [Flag.PREGNANCY]),
        ({"substance_use": True}, [Flag.SUBSTANCE_USE]),
        ({"seizures": True}, [Flag.SEIZURES]),
        ({"liver_disease": True, "bladder_problems": True}, [Flag.LIVER, Flag.BLADDER]),
        ({"raised_eye_pressure": True}, [Flag.EYE_PRESSURE]),
        ({"self_harm_thoughts": True}, [Flag.SELF_HARM]),
        ({f"phq9_{n}": 3 for n in range(1, 10)} | {"phq9_9": 0, "phq9_1": 0}, [Flag.PHQ9_SEVERE]),
        ({f"phq9_{n}": 3 for n in range(1, 10)} | {"phq9_9": 0, "phq9_1": 0, "phq9_2": 1}, []),
        ({f"phq9_{n}": 2 for n in range(1, 10)} | {"phq9_9": 0}, []),
        ({f"phq9_{n}": 0 for n in range(1, 10)} | {"phq9_9": 1}, [Flag.SELF_HARM]),
    ],
)
def test_flags_are_derived_from_the_answers(answers, flags):
    consultation_request = create(**answers)
    assert consultation_request.flags == [str(flag) for flag in flags]
    assert consultation_request.is_urgent is (Flag.SELF_HARM in flags)


def test_phq9_score_is_computed_by_the_database():
    consultation_request = create(**{f"phq9_{n}": n % 4 for n in range(1, 10)})
    consultation_request.refresh_from_db()
    assert consultation_request.phq9_score == sum(n % 4 for n in range(1, 10))
    assert str(consultation_request.phq9_band) == "moderate"
    assert create().phq9_score is None


def test_the_service_validates_with_full_clean_and_saves_nothing_when_invalid():
    with pytest.raises(ValidationError) as error:
        consultation_request_create(form_token=new_token(), answers=request_answers(consent_privacy=False))
    assert "This consent is required." in str(error.value)
    with pytest.raises(ValidationError):
        consultation_request_create(
            form_token=new_token(), answers=request_answers(blood_pressure_systolic=400)
        )
    with pytest.raises(ValidationError):
        consultation_request_create(form_token=new_token(), answers=request_answers(state="ZZ"))
    with pytest.raises(ValidationError):
        consultation_request_create(form_token=new_token(), answers=request_answers(phq9_1=7))
    assert ConsultationRequest.objects.count() == 0


def test_the_database_refuses_impossible_rows_too():
    consultation_request = create()
    for change in [
        {"phq9_1": 5},
        {"consent_contact": False},
        {"self_harm_thoughts": True},
        {"reference": "KC-0000-OOOO"},
    ]:
        with pytest.raises(IntegrityError), __import__("django.db").db.transaction.atomic():
            ConsultationRequest.objects.filter(pk=consultation_request.pk).update(**change)


def test_same_form_token_returns_the_first_request():
    token = new_token()
    first, created = consultation_request_create(form_token=token, answers=request_answers())
    second, created_again = consultation_request_create(
        form_token=token, answers=request_answers(first_name="Other")
    )
    assert created and not created_again
    assert first.pk == second.pk
    assert ConsultationRequest.objects.count() == 1


def test_a_colliding_reference_is_drawn_again(monkeypatch):
    taken = create().reference
    draws = iter([taken, taken, "KC-2345-6789"])
    monkeypatch.setattr(services.requests, "new_reference", lambda: next(draws))
    consultation_request = create()
    assert consultation_request.reference == "KC-2345-6789"
    assert ConsultationRequest.objects.count() == 2


class RolledBack(Exception):
    pass


def test_a_new_request_is_saved_with_its_emails_queued_in_its_transaction(django_capture_on_commit_callbacks):
    with pytest.raises(RolledBack), transaction.atomic():
        create()
        raise RolledBack
    assert ConsultationRequest.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        saved = create()
    assert callbacks == []  # Nothing is left for after the commit.
    assert OutboundEmail.objects.filter(consultation_request=saved).count() == 2


# The workflow, written out: each status and the statuses a request may move to from it.
MOVES = {
    "new": {"contacted", "scheduled", "declined", "cancelled_by_patient", "cancelled_by_staff", "spam"},
    "contacted": {"scheduled", "declined", "cancelled_by_patient", "cancelled_by_staff"},
    "scheduled": {"completed", "contacted", "cancelled_by_patient", "cancelled_by_staff"},
    "completed": set(),
    "declined": set(),
    "cancelled_by_patient": set(),
    "cancelled_by_staff": set(),
    # A request marked spam by mistake goes back to the new ones.
    "spam": {"new"},
}
# Scheduled is reached by booking the consultation, never by choosing the status.
BOOKED_ONLY = {"scheduled"}


def in_status(status):
    consultation_request = create()
    ConsultationRequest.objects.filter(pk=consultation_request.pk).update(status=status)
    consultation_request.refresh_from_db()
    return consultation_request


def test_the_workflow_has_the_statuses_written_out_here():
    assert set(ConsultationRequest.Status.values) == set(MOVES)


@pytest.mark.parametrize(("current", "target"), [(a, b) for a in MOVES for b in MOVES if a != b])
def test_staff_move_a_request_only_as_the_workflow_allows(current, target, django_user_model):
    staff = django_user_model.objects.create_user("desk", password="x" * 20, is_staff=True)
    consultation_request = in_status(current)
    if target in MOVES[current] and target not in BOOKED_ONLY:
        moved = consultation_request_set_status(
            consultation_request=consultation_request, status=target, by=staff
        )
        assert moved.status == target
        change = StatusChange.objects.get(consultation_request=consultation_request)
        assert (change.from_status, change.to_status, change.changed_by) == (current, target, staff)
    else:
        with pytest.raises(ValidationError) as refusal:
            consultation_request_set_status(
                consultation_request=consultation_request, status=target, by=staff
            )
        if target in MOVES[current]:
            assert "by booking its consultation" in str(refusal.value)
        elif MOVES[current]:
            assert "It can move to:" in str(refusal.value)
        else:
            assert "is closed" in str(refusal.value)
        consultation_request.refresh_from_db()
        assert consultation_request.status == current
        assert not StatusChange.objects.exists()


def test_cancel_by_patient_follows_the_allowed_transitions(django_capture_on_commit_callbacks):
    may_cancel = {status for status, targets in MOVES.items() if "cancelled_by_patient" in targets}
    assert may_cancel == {"new", "contacted", "scheduled"}
    for status in MOVES:
        consultation_request = in_status(status)
        if status in may_cancel or status == "cancelled_by_patient":
            with django_capture_on_commit_callbacks(execute=True):
                result = consultation_request_cancel_by_patient(consultation_request=consultation_request)
            assert result.status == "cancelled_by_patient"
        else:
            with pytest.raises(ValidationError):
                consultation_request_cancel_by_patient(consultation_request=consultation_request)
            consultation_request.refresh_from_db()
            assert consultation_request.status == status
    # Cancelling twice sends the staff one notice per request.
    assert OutboundEmail.objects.filter(dedupe_key__endswith="cancelled-by-patient").count() == 3


def test_model_clean_states_the_check_constraints_rules_with_messages():
    consultation_request = ConsultationRequest(
        **request_answers(self_harm_thoughts=True, consent_contact=False)
    )
    with pytest.raises(ValidationError) as error:
        consultation_request.clean()
    assert set(error.value.message_dict) == {"consent_contact", "is_urgent"}
    consultation_request.is_urgent = True
    consultation_request.consent_contact = True
    consultation_request.clean()
