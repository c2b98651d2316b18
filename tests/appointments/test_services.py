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
    new_reference,
    new_token,
)
from appointments.services import consultation_request_cancel_by_patient, consultation_request_create
from tests.outbox import queue_pending

pytestmark = pytest.mark.django_db

Flag = ConsultationRequest.Flag


def model_answers(**overrides):
    answers = {
        "first_name": "Sam",
        "last_name": "Rivera",
        "email": "sam@example.com",
        "phone": "+12125550199",
        "contact_method": "email",
        "contact_times": [],
        "voicemail_ok": False,
        "text_ok": False,
        "date_of_birth": datetime.date(1970, 1, 2),
        "state": "CA",
        "concern": "depression",
        "concern_other": "",
        "episode": "depressive",
        "self_harm_thoughts": False,
        "is_adult": True,
        "antidepressant_trials": "2",
        "treatments_other": "",
        "current_medications": "",
        "medical_history_other": "",
        "modality": "either",
        "treatment_preference": "undecided",
        "payment": "self_pay",
        "insurance_carrier": "",
        "heard_about": "",
        "heard_about_other": "",
        "consent_privacy": True,
        "consent_contact": True,
        "consent_not_emergency": True,
        "tried_mood_stabilisers": False,
        "tried_therapy": False,
        "tried_ect_tms": False,
        "tried_ketamine": False,
        "high_blood_pressure": False,
        "heart_disease_or_stroke": False,
        "psychosis_history": False,
        "substance_use": False,
        "seizures": False,
        "pregnant_or_breastfeeding": False,
        "liver_disease": False,
        "bladder_problems": False,
        "raised_eye_pressure": False,
        **{f"phq9_{n}": None for n in range(1, 10)},
    }
    answers.update(overrides)
    return answers


def create(**overrides):
    consultation_request, created = consultation_request_create(
        form_token=new_token(), answers=model_answers(**overrides)
    )
    assert created
    return consultation_request


def test_reference_is_human_friendly_and_avoids_ambiguous_characters():
    for _ in range(200):
        reference = new_reference()
        assert len(reference) == 12 and reference[:3] == "KC-" and reference[7] == "-"
        assert set(reference[3:7] + reference[8:]) <= set(REFERENCE_ALPHABET)
    assert not set("01OIL") & set(REFERENCE_ALPHABET)


def test_str_shows_reference_and_date_never_a_name():
    consultation_request = create()
    text = str(consultation_request)
    assert consultation_request.reference in text
    assert consultation_request.created_at.strftime("%Y-%m-%d") in text
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
        consultation_request_create(form_token=new_token(), answers=model_answers(consent_privacy=False))
    assert "This consent is required." in str(error.value)
    with pytest.raises(ValidationError):
        consultation_request_create(
            form_token=new_token(), answers=model_answers(blood_pressure_systolic=400)
        )
    with pytest.raises(ValidationError):
        consultation_request_create(form_token=new_token(), answers=model_answers(state="ZZ"))
    with pytest.raises(ValidationError):
        consultation_request_create(form_token=new_token(), answers=model_answers(phq9_1=7))
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
    first, created = consultation_request_create(form_token=token, answers=model_answers())
    second, created_again = consultation_request_create(
        form_token=token, answers=model_answers(first_name="Other")
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


def test_a_new_request_is_saved_with_its_emails_pending_for_the_worker(django_capture_on_commit_callbacks):
    with pytest.raises(RolledBack), transaction.atomic():
        create()
        raise RolledBack
    assert ConsultationRequest.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        saved = create()
    assert callbacks == []  # Nothing is left for after the commit.
    assert (saved.emails_pending, OutboundEmail.objects.count()) == (True, 0)
    assert queue_pending() == 1
    assert OutboundEmail.objects.filter(consultation_request=saved).count() == 2


def test_cancel_by_patient_follows_the_allowed_transitions(django_capture_on_commit_callbacks):
    Status = ConsultationRequest.Status
    for status in Status:
        consultation_request = create()
        ConsultationRequest.objects.filter(pk=consultation_request.pk).update(status=status)
        consultation_request.refresh_from_db()
        allowed = Status.CANCELLED_BY_PATIENT in ConsultationRequest.ALLOWED_TRANSITIONS[status]
        if allowed or status == Status.CANCELLED_BY_PATIENT:
            with django_capture_on_commit_callbacks(execute=True):
                result = consultation_request_cancel_by_patient(consultation_request=consultation_request)
            assert result.status == Status.CANCELLED_BY_PATIENT
        else:
            with pytest.raises(ValidationError):
                consultation_request_cancel_by_patient(consultation_request=consultation_request)
            consultation_request.refresh_from_db()
            assert consultation_request.status == status
    assert set(ConsultationRequest.ALLOWED_TRANSITIONS) == set(Status)
    # Cancelling twice sends the staff one notice per request.
    assert OutboundEmail.objects.filter(dedupe_key__endswith="cancelled-by-patient").count() == 3


def test_model_clean_states_the_check_constraints_rules_with_messages():
    consultation_request = ConsultationRequest(
        **model_answers(self_harm_thoughts=True, consent_contact=False)
    )
    with pytest.raises(ValidationError) as error:
        consultation_request.clean()
    assert set(error.value.message_dict) == {"consent_contact", "is_urgent"}
    consultation_request.is_urgent = True
    consultation_request.consent_contact = True
    consultation_request.clean()
