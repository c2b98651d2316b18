"""A form for one page of the questionnaire: a booking step or an intake step.

The booking and the intake ask their questions a section at a time. ``section_form(section)``
builds the form class for a section from the questionnaire's one definition; the section's own
checks (a required_if, a phone number, a name without a phone number or web address) come with it.
"""

from functools import cache

from django import forms

from .. import questionnaire
from ..questionnaire import Kind
from .fields import (
    MemorableDateWidget,
    check_date_of_birth,
    phone_number_e164,
    question_field,
    reject_contact_details_in_name,
)

# Checks that belong to a question rather than to a kind: the question's name -> a function of the
# cleaned value that returns the value to store or raises ValidationError.
QUESTION_CHECKS = {
    "first_name": lambda value: reject_contact_details_in_name(value) or value,
    "last_name": lambda value: reject_contact_details_in_name(value) or value,
    "phone": phone_number_e164,
    "date_of_birth": check_date_of_birth,
}


def check_blood_pressure(form, cleaned):
    """The two numbers together, or "I don't know", and the top one above the bottom one."""
    systolic = cleaned.get("blood_pressure_systolic")
    diastolic = cleaned.get("blood_pressure_diastolic")
    if "blood_pressure_systolic" in form.errors or "blood_pressure_diastolic" in form.errors:
        return
    problem = questionnaire.blood_pressure_problem(
        systolic=systolic, diastolic=diastolic, unknown=cleaned.get("blood_pressure_unknown")
    )
    if problem:
        field, message = problem
        form.add_error(field, message)


# Checks across a section's answers: the section's id -> a function of the form and its cleaned data.
SECTION_CHECKS = {"health": check_blood_pressure}


class SectionForm(forms.Form):
    """The questions of one section; subclasses come from ``section_form``."""

    section = None  # the questionnaire.Section this form asks
    derived = ()  # columns of the section set from other answers rather than asked

    def clean(self):
        cleaned = super().clean()
        for question in self.section.questions:
            name = question.name
            if name in QUESTION_CHECKS and cleaned.get(name) and name not in self.errors:
                try:
                    cleaned[name] = QUESTION_CHECKS[name](cleaned[name])
                except forms.ValidationError as error:
                    self.add_error(name, error)
            if question.required_if and not cleaned.get(name):
                other, value, message = question.required_if
                if cleaned.get(other) == value:
                    self.add_error(name, message)
        if self.section.id in SECTION_CHECKS:
            SECTION_CHECKS[self.section.id](self, cleaned)
        return cleaned

    def error_links(self):
        """(anchor id, message) for each distinct error, in the order the fields appear on the page."""
        links = [("form-top", error) for error in self.non_field_errors()]
        for name in self.fields:
            if name in self.errors:
                bound = self[name]
                anchor = bound.id_for_label or bound.auto_id
                # A group of controls: the first of them (a date's month box).
                multiple = forms.RadioSelect | forms.CheckboxSelectMultiple | MemorableDateWidget
                if isinstance(bound.field.widget, multiple):
                    anchor = f"{bound.auto_id}_0"
                links.extend((anchor, error) for error in self.errors[name])
        seen = set()
        return [(anchor, error) for anchor, error in links if not (error in seen or seen.add(error))]

    def answers(self):
        """The cleaned answers as ``ConsultationRequest`` column values (a TICKS question is a
        column per option)."""
        answers = {}
        for question in self.section.questions:
            value = self.cleaned_data.get(question.name)
            if question.kind == Kind.TICKS:
                answers.update((option.name, option.name in (value or [])) for option in question.options)
            else:
                answers[question.name] = value
        return answers

    @classmethod
    def initial_from(cls, answers):
        """Form initial data from stored column values (the reverse of ``answers``)."""
        initial = {}
        for question in cls.section.questions:
            if question.kind == Kind.TICKS:
                initial[question.name] = [
                    option.name for option in question.options if answers.get(option.name)
                ]
            elif question.kind == Kind.YES_NO and answers.get(question.name) is not None:
                initial[question.name] = "yes" if answers[question.name] else "no"
            elif question.name in answers:
                initial[question.name] = answers[question.name]
        return initial


@cache
def section_form(section_id):
    """The form class that asks the questions of the section ``section_id``."""
    section = next(section for section in questionnaire.SECTIONS if section.id == section_id)
    attrs = {"section": section, **{q.name: question_field(q) for q in section.questions}}
    return type(f"{section_id.title().replace('_', '')}SectionForm", (SectionForm,), attrs)
