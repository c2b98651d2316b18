"""The intake's rules, beside the questionnaire's definition: the MDQ scored as published, the blood
pressure flag, skipped PHQ-9 items, and what PostgreSQL refuses."""

import pytest
from django.db import IntegrityError, transaction

from appointments import questionnaire
from appointments.questionnaire import MdqResult, mdq_result
from tests.factories import make_request

POSITIVE, NEGATIVE, INCOMPLETE = MdqResult.POSITIVE, MdqResult.NEGATIVE, MdqResult.INCOMPLETE


def items(yes, no=None, skipped=0):
    """Thirteen MDQ answers: ``yes`` yes, ``skipped`` unanswered, the rest no."""
    no = 13 - yes - skipped if no is None else no
    return [True] * yes + [None] * skipped + [False] * no


@pytest.mark.parametrize(
    ("answers", "same_period", "problem", "outcome", "yes"),
    [
        # The three conditions, each at its boundary.
        (items(7), True, "moderate", POSITIVE, 7),
        (items(7), True, "serious", POSITIVE, 7),
        (items(13), True, "moderate", POSITIVE, 13),
        (items(6), True, "serious", NEGATIVE, 6),
        (items(7), True, "minor", NEGATIVE, 7),
        (items(7), True, "none", NEGATIVE, 7),
        (items(13), False, "serious", NEGATIVE, 13),
        # Not a sum: many yes without the other two conditions is negative.
        (items(12), False, "minor", NEGATIVE, 12),
        # Skipped answers: undecided while they could still make it positive.
        (items(7), None, "serious", INCOMPLETE, 7),
        (items(7), True, "", INCOMPLETE, 7),
        (items(6, skipped=1), True, "serious", INCOMPLETE, 6),
        (items(5, skipped=1), True, "serious", NEGATIVE, 5),
        (items(0, skipped=13), True, "serious", INCOMPLETE, 0),
        (items(9, skipped=4), True, "moderate", POSITIVE, 9),
    ],
)
def test_the_mdq_is_scored_as_published(answers, same_period, problem, outcome, yes):
    result = mdq_result(items=answers, same_period=same_period, problem=problem)
    assert (result.outcome, result.yes) == (outcome, yes)


def test_an_untouched_mdq_is_not_answered():
    result = mdq_result(items=[None] * 13, same_period=None, problem="")
    assert result == MdqResult(MdqResult.NOT_ANSWERED, 0, 0)


def test_the_mdq_has_thirteen_yes_no_items_and_two_questions_after():
    (section,) = [s for s in questionnaire.SECTIONS if s.id == "mdq"]
    names = [q.name for q in section.questions]
    assert names == [*(f"mdq_{n}" for n in range(1, 14)), "mdq_same_period", "mdq_problem"]
    assert [label for _value, label in questionnaire.MdqProblem.choices] == [
        "No problem",
        "Minor problem",
        "Moderate problem",
        "Serious problem",
    ]
    assert all(not q.required and q.audience == questionnaire.SCREENING for q in section.questions)


@pytest.mark.parametrize(
    ("systolic", "diastolic", "high"),
    [(159, 99, False), (160, 80, True), (120, 100, True), (180, 120, True), (None, None, False)],
)
def test_a_blood_pressure_of_160_over_100_or_above_raises_a_flag(systolic, diastolic, high):
    answers = {"blood_pressure_systolic": systolic, "blood_pressure_diastolic": diastolic}
    assert questionnaire.blood_pressure_is_high(systolic=systolic, diastolic=diastolic) is high
    assert ("blood_pressure_high" in questionnaire.answer_flags(answers)) is high


def test_a_positive_mdq_raises_a_flag_for_the_clinician():
    answers = {f"mdq_{n}": n <= 7 for n in range(1, 14)} | {
        "mdq_same_period": True,
        "mdq_problem": "moderate",
    }
    assert questionnaire.answer_flags(answers) == ["mdq_positive"]
    assert questionnaire.answer_flags({**answers, "mdq_problem": "minor"}) == []


def test_the_diagnosis_offers_what_the_patient_may_have_been_told():
    assert [label for _value, label in questionnaire.Diagnosis.choices] == [
        "Bipolar I",
        "Bipolar II",
        "Another bipolar diagnosis, or cyclothymia",
        "Depression",
        "Something else",
        "I’m not sure, or I have no diagnosis",
    ]


@pytest.mark.django_db
def test_postgresql_keeps_skipped_phq9_items_empty_and_gives_no_score():
    consultation_request = make_request(phq9_1=2, phq9_2=2, phq9_5=0)
    consultation_request.refresh_from_db()
    assert consultation_request.phq9_score is None
    assert consultation_request.phq9_answered == 3
    assert questionnaire.phq9_is_partial(consultation_request.phq9_answers)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "answers",
    [{"phq9_4": 4}, {"blood_pressure_systolic": 400}, {"blood_pressure_diastolic": 20}],
)
def test_postgresql_refuses_an_answer_out_of_range(answers):
    with pytest.raises(IntegrityError, match="_range"), transaction.atomic():
        make_request(**answers)
