"""The request list as CSV, with the columns the exporting staff member may see."""

import csv

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import questionnaire
from ..questionnaire import Kind
from .display import person_name


class Echo:
    """A file that hands back what is written to it: csv.writer for a streamed response."""

    def write(self, value):
        return value


def csv_safe(value):
    """A cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + text
    return text


def _choice(name):
    return lambda obj: getattr(obj, f"get_{name}_display")()


def _value(name):
    return lambda obj: getattr(obj, name)


def _answer(question):
    if question.choices:
        return _choice(question.name)
    if question.kind == Kind.YES_NO:
        # No answer (an unfinished request stopped before the question) is neither yes nor no.
        labels = {True: _("yes"), False: _("no"), None: ""}
        return lambda obj: labels[getattr(obj, question.name)]
    return _value(question.name)


MDQ_OUTCOMES = {
    questionnaire.MdqResult.POSITIVE: _("positive"),
    questionnaire.MdqResult.NEGATIVE: _("negative"),
    questionnaire.MdqResult.INCOMPLETE: _("incomplete"),
    questionnaire.MdqResult.NOT_ANSWERED: "",
}


def export_columns(*, screening):
    """The CSV's columns, as (header, value of a request): the workflow's, then the answers the
    questionnaire exports, screening answers (with flags and the PHQ-9 score) only for those allowed."""
    columns = [
        (_("Reference"), _value("reference")),
        (_("Received"), lambda obj: timezone.localtime(obj.created_at).isoformat(timespec="minutes")),
        (_("Status"), _choice("status")),
        (_("Urgent"), lambda obj: _("yes") if obj.is_urgent else _("no")),
        (_("Assigned to"), lambda obj: person_name(obj.assigned_to) if obj.assigned_to_id else ""),
        (_("Intake"), lambda obj: obj.get_intake_state_display()),
    ]
    for question in questionnaire.visible_questions(screening=screening):
        if question.export_header:
            columns.append((question.export_header, _answer(question)))
    if screening:
        columns += [
            (_("Clinician flags"), lambda obj: "; ".join(str(label) for label in obj.get_flags_display())),
            (_("PHQ-9 score"), _value("phq9_score")),
            (_("MDQ"), lambda obj: MDQ_OUTCOMES[obj.mdq_result().outcome]),
        ]
    return [(str(header), value) for header, value in columns]


def csv_lines(queryset, columns):
    """The CSV's lines, header first, a few thousand rows fetched at a time."""
    writer = csv.writer(Echo())
    yield writer.writerow([header for header, _value in columns])
    for obj in queryset.iterator(chunk_size=2000):
        yield writer.writerow([csv_safe(value(obj)) for _header, value in columns])
