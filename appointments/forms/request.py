"""The single-page request form: every question of the questionnaire on one page."""

from django import forms
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .. import questionnaire
from ..models import new_token
from ..questionnaire import Kind
from .fields import (
    SLUG_RE,
    TOKEN_RE,
    QuestionnaireForm,
    check_date_of_birth,
    phone_number_e164,
    reject_web_addresses,
)


class ConsultationRequestForm(QuestionnaireForm):
    """Every question of the questionnaire, grouped in the sections the page shows."""

    # A field people never see: bots fill it in, browsers and people leave it empty.
    HONEYPOT_FIELD = "website"

    # Hidden fields: where the patient came from, the one-time token, and the honeypot.
    source_article = forms.CharField(required=False, widget=forms.HiddenInput)
    form_token = forms.CharField(required=False, widget=forms.HiddenInput)
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    SECTIONS = [
        {
            "id": section.id,
            "legend": section.legend,
            "intro": section.intro,
            "question": section.question,
            "fields": [question.name for question in section.questions],
        }
        for section in questionnaire.SECTIONS
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The link opens a new tab so that reading the notice never loses the answers given so far.
        self.fields["consent_privacy"].label = format_html(
            _(
                'I have read the <a href="{url}" target="_blank" rel="noopener">privacy notice (opens in a new tab)</a>'
            ),
            url=reverse("privacy"),
        )

    # Field checks

    def clean_first_name(self):
        reject_web_addresses(self.cleaned_data["first_name"])
        return self.cleaned_data["first_name"]

    def clean_last_name(self):
        reject_web_addresses(self.cleaned_data["last_name"])
        return self.cleaned_data["last_name"]

    def clean_phone(self):
        return phone_number_e164(self.cleaned_data["phone"])

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        return born and check_date_of_birth(born)

    def clean_source_article(self):
        slug = self.cleaned_data["source_article"].strip()
        return slug if SLUG_RE.match(slug) else ""

    def clean_form_token(self):
        token = self.cleaned_data["form_token"]
        # A missing or mangled token only costs the double-submit protection, not the request.
        return token if TOKEN_RE.match(token) else new_token()

    def clean(self):
        cleaned = super().clean()
        for question in questionnaire.QUESTIONS.values():
            if question.required_if and not cleaned.get(question.name):
                other, value, message = question.required_if
                if cleaned.get(other) == value:
                    self.add_error(question.name, message)
        return cleaned

    # What the view and template need

    def is_spam(self):
        return bool(self.data.get(self.HONEYPOT_FIELD, "").strip())

    def reports_self_harm(self):
        """Whether the submitted answers, valid or not, mention current thoughts of self-harm."""
        item_9 = self.data.get("phq9_9")
        return questionnaire.reports_self_harm(
            self_harm_thoughts=self.data.get("self_harm_thoughts") == "yes",
            phq9_9=int(item_9) if item_9 in {"0", "1", "2", "3"} else None,
        )

    def sections(self):
        for section in self.SECTIONS:
            yield {**section, "fields": [self[name] for name in section["fields"]]}

    def error_links(self):
        """(anchor id, message) for each distinct error, in the order the fields appear on the page."""
        links = [("form-top", error) for error in self.non_field_errors()]
        for section in self.SECTIONS:
            for name in section["fields"]:
                if name in self.errors:
                    bound = self[name]
                    anchor = bound.id_for_label or bound.auto_id
                    if isinstance(bound.field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
                        anchor = f"{bound.auto_id}_0"
                    links.extend((anchor, error) for error in self.errors[name])
        # One link for a message that several fields share (the unanswered PHQ-9 items).
        seen = set()
        return [(anchor, error) for anchor, error in links if not (error in seen or seen.add(error))]

    def answers(self):
        """The cleaned answers as ``ConsultationRequest`` field values."""
        data = self.cleaned_data
        answers = {}
        for question in questionnaire.QUESTIONS.values():
            if question.kind == Kind.TICKS:
                answers.update(
                    (option.name, option.name in data[question.name]) for option in question.options
                )
            else:
                answers[question.name] = data[question.name]
        return answers
