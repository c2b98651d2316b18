"""The questionnaire's single definition: every layer reads it, and each rule agrees with the database."""

import pytest
from django.db import IntegrityError, transaction

from appointments import questionnaire
from appointments.forms import STEP_FORMS
from appointments.forms.sections import section_form
from appointments.models import ConsultationRequest
from appointments.views.booking import STEPS
from tests.factories import make_request, request_fields

from .conftest import change_url

pytestmark = pytest.mark.django_db

ALL_TWOS = {f"phq9_{n}": 2 for n in range(1, 10)}


@pytest.mark.parametrize(
    ("self_harm_thoughts", "phq9", "urgent"),
    [
        (False, {}, False),
        (True, {}, True),
        (False, {**ALL_TWOS, "phq9_9": 0}, False),
        (False, {**ALL_TWOS, "phq9_9": 1}, True),
        (False, {**ALL_TWOS, "phq9_9": 3}, True),
        (True, {**ALL_TWOS, "phq9_9": 0}, True),
    ],
)
def test_urgency_is_one_rule_that_the_model_and_the_database_both_hold(self_harm_thoughts, phq9, urgent):
    answers = {"self_harm_thoughts": self_harm_thoughts, **phq9}
    assert (
        questionnaire.reports_self_harm(self_harm_thoughts=self_harm_thoughts, phq9_9=phq9.get("phq9_9"))
        is urgent
    )
    assert ConsultationRequest(**answers).reports_self_harm() is urgent
    # PostgreSQL's check constraint refuses a routine row exactly when the rule says urgent.
    try:
        with transaction.atomic():
            make_request(is_urgent=False, **answers)
    except IntegrityError as error:
        assert urgent, error
        assert "appt_request_self_harm_is_urgent" in str(error)
    else:
        assert not urgent
    make_request(is_urgent=True, **answers)


@pytest.mark.parametrize(
    ("answers", "score"),
    [
        ({f"phq9_{n}": 0 for n in range(1, 10)}, 0),
        (ALL_TWOS, 18),
        ({**ALL_TWOS, "phq9_1": 3, "phq9_2": 3}, 20),
        ({f"phq9_{n}": 3 for n in range(1, 10)}, 27),
        ({}, None),
    ],
)
def test_the_phq9_score_in_python_is_the_score_postgresql_stores(answers, score):
    items = [answers.get(name) for name in questionnaire.PHQ9_FIELDS]
    assert questionnaire.phq9_score(items) == score
    assert make_request(is_urgent=True, **answers).phq9_score == score


def test_a_partly_answered_phq9_is_kept_with_no_score():
    partial = [2, 2, None, None, None, None, None, None, None]
    assert questionnaire.phq9_is_partial(partial)
    assert not questionnaire.phq9_is_partial([None] * 9) and not questionnaire.phq9_is_partial([0] * 9)
    assert questionnaire.phq9_score(partial) is None
    assert questionnaire.phq9_answered(partial) == 2
    consultation_request = make_request(phq9_1=2, phq9_2=2)
    consultation_request.refresh_from_db()
    assert consultation_request.phq9_answers == partial
    assert consultation_request.phq9_score is None


def test_every_question_is_a_form_field_and_every_answer_a_column():
    columns = {field.name for field in ConsultationRequest._meta.get_fields()}
    for section in questionnaire.SECTIONS:
        form = STEP_FORMS.get(section.id) or section_form(section.id)
        for question in section.questions:
            assert question.name in form.base_fields, question.name
            assert set(question.column_names) <= columns
    # The booking's steps, then the intake's pages, in the questionnaire's order.
    assert [section.id for section in questionnaire.sections(stage=questionnaire.BOOKING)] == [
        "contact",
        "safety",
        "eligibility",
        "visit",
        "check",
    ]
    assert [section.id for section in questionnaire.sections(stage=questionnaire.INTAKE)] == [
        "about",
        "treatments",
        "health",
        "prescriber",
        "phq9",
        "mdq",
        "payment",
    ]
    assert [step.section for step in STEPS] == ["contact", "safety", "eligibility", "visit"]


def test_the_free_text_answers_are_the_ones_retention_empties_and_search_reads():
    assert questionnaire.FREE_TEXT_FIELDS == [
        "concern_other",
        "treatments_other",
        "current_medications",
        "medical_history_other",
        "prescriber_name",
        "prescriber_contact",
        "insurance_carrier",
        "heard_about_other",
    ]
    assert questionnaire.SEARCHED_FIELDS == [
        "first_name",
        "last_name",
        "email",
        "phone",
        "concern_other",
        "treatments_other",
        "current_medications",
        "medical_history_other",
    ]


@pytest.mark.parametrize(("role", "screening"), [("front_desk", False), ("clinician", True)])
def test_each_role_sees_the_questions_of_its_audience_on_a_requests_page(client, login_as, role, screening):
    login_as(role)
    html = client.get(change_url(make_request())).content.decode()
    for question in questionnaire.QUESTIONS.values():
        shown = f"field-{question.shown_to_staff_as}" in html
        assert shown == (screening or question.audience == questionnaire.CONTACT), question.name


@pytest.mark.parametrize(
    ("written", "flags"),
    [
        ("Lamotrigine 200mg, quetiapine 50mg", ["lamotrigine"]),
        ("lamictal", ["lamotrigine"]),
        ("lamotrigene (I think that's how it's spelt)", ["lamotrigine"]),
        ("XANAX when needed", ["benzodiazepines"]),
        ("klonipin 0.5", ["benzodiazepines"]),
        ("Nardil", ["maoi"]),
        ("Adderal XR 20mg and tramadol", ["stimulants", "opioids"]),
        ("Suboxone", ["opioids"]),
        ("sertraline 100mg, vitamin D", []),
        ("going to a concert on Friday", []),
        ("", []),
    ],
)
def test_medicines_that_change_ketamines_effect_raise_flags(written, flags):
    answers = {"self_harm_thoughts": False, "current_medications": written}
    assert questionnaire.answer_flags(answers) == flags


def test_a_request_saved_with_lamotrigine_carries_the_flag(db):
    from appointments import services

    request, _created = services.consultation_request_create(
        form_token="medicine-flag-token",
        answers={
            key: value
            for key, value in request_fields(current_medications="Lamictal 100mg").items()
            if key not in {"reference", "form_token", "confirmation_token"}
        },
    )
    request.refresh_from_db()
    assert request.flags == ["lamotrigine"]
