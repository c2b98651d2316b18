"""The clinical intake's forms: one per intake section, from the questionnaire's one definition."""

from functools import cache

from .. import questionnaire
from .sections import section_form


@cache
def intake_form(section_id):
    """The form of one intake page; ``columns()`` names the request's columns it shows and saves."""
    section = next(s for s in questionnaire.sections(stage=questionnaire.INTAKE) if s.id == section_id)
    base = section_form(section.id)

    def columns(cls):
        return [name for question in cls.section.questions for name in question.column_names]

    return type(
        base.__name__.replace("SectionForm", "IntakeForm"), (base,), {"columns": classmethod(columns)}
    )
