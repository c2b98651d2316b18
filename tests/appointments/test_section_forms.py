"""The forms built from one section of the questionnaire: the booking's and the intake's steps."""

from appointments import questionnaire
from appointments.forms.sections import section_form


def test_every_section_has_a_form_with_exactly_its_questions():
    for section in questionnaire.SECTIONS:
        form = section_form(section.id)()
        assert list(form.fields) == [question.name for question in section.questions]


def test_a_step_checks_its_questions_and_says_where():
    form = section_form("contact")(
        {
            "first_name": "Ana",
            "last_name": "www.example.com",
            "email": "ana@example.com",
            "phone": "(212) 555-0123",
            "contact_method": "phone",
            "consent_privacy": "on",
            "consent_contact": "on",
        }
    )
    assert not form.is_valid()
    assert form.error_links() == [("id_last_name", "Enter your name without a phone number or web address.")]
    assert form.cleaned_data["phone"] == "+12125550123"


def test_tick_boxes_become_one_column_each_and_back():
    form_class = section_form("treatments")
    form = form_class({"treatments_tried": ["tried_therapy", "tried_ketamine"]})
    assert form.is_valid(), form.errors
    answers = form.answers()
    assert answers["tried_therapy"] is True
    assert answers["tried_ketamine"] is True
    assert answers["tried_mood_stabilisers"] is False
    assert form_class.initial_from(answers)["treatments_tried"] == ["tried_therapy", "tried_ketamine"]


def test_the_booking_asks_only_booking_questions_and_the_intake_is_all_optional():
    booking = [q for s in questionnaire.sections(stage=questionnaire.BOOKING) for q in s.questions]
    intake = [q for s in questionnaire.sections(stage=questionnaire.INTAKE) for q in s.questions]
    assert {q.name for q in booking} >= {"first_name", "email", "self_harm_thoughts", "state", "is_adult"}
    assert "date_of_birth" in {q.name for q in intake}
    assert [q.name for q in intake if q.required] == []
