"""The clinical intake's forms: one per intake section, from the questionnaire's one definition, and
the date of birth a patient gives to see the answers they saved."""

from functools import cache

from django import forms
from django.utils.translation import gettext_lazy as _

from .. import questionnaire
from .fields import MemorableDateField
from .sections import section_form


@cache
def intake_form(section_id):
    """The form of one intake page; ``columns()`` names the request's columns it shows and saves."""
    section = next(s for s in questionnaire.sections(stage=questionnaire.INTAKE) if s.id == section_id)
    base = section_form(section.id)

    def columns(cls):
        return [name for question in cls.section.questions for name in question.column_names]

    def leave_out(self, *names):
        """Ask this page without the questions ``names``: their saved answers stay as they are."""
        for name in names:
            self.fields.pop(name, None)
        self.left_out = (*getattr(self, "left_out", ()), *names)
        return self

    def answers(self):
        left_out = getattr(self, "left_out", ())
        left_out_columns = {
            column
            for question in self.section.questions
            if question.name in left_out
            for column in question.column_names
        }
        return {name: value for name, value in base.answers(self).items() if name not in left_out_columns}

    def blank_answers(cls, *, leave_out=()):
        """The answers of the page sent with nothing filled in."""
        form = cls({}).leave_out(*leave_out)
        if not form.is_valid():  # every intake question is optional
            raise ValueError(f"An empty intake page {section_id} is refused: {form.errors}")
        return form.answers()

    return type(
        base.__name__.replace("SectionForm", "IntakeForm"),
        (base,),
        {
            "columns": classmethod(columns),
            "leave_out": leave_out,
            "answers": answers,
            "blank_answers": classmethod(blank_answers),
        },
    )


class DateOfBirthCheckForm(forms.Form):
    """The date of birth a patient gives to see their saved intake answers in this browser."""

    prefix = "confirm"

    date_of_birth = MemorableDateField(
        name=_("date of birth"),
        required=True,
        label=_("Your date of birth"),
        help_text=_("For example, 3 27 1985."),
        error_messages={"required": _("Enter your date of birth, or answer the page again below.")},
    )
