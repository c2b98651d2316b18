"""The booking's steps: a form per step from the questionnaire, and the Send form of the last.

Each step's questions are a section of the questionnaire (``section_form``); what the booking
adds is here: one set of contact preferences that cannot contradict itself, the "we cannot see
you" answers of the eligibility step, and the hidden fields of Send.
"""

from django import forms
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from clinic import details

from ..models import new_token
from ..questionnaire import ContactMethod
from .fields import TOKEN_RE
from .sections import section_form


class ContactStepForm(section_form("contact")):
    """Names, how to reach the patient, and the two consents given before any health answer.

    Choosing "Text message" is the permission to text: no second tick can contradict it.
    """

    derived = ("text_ok",)  # set from the contact method, not asked

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["text_ok"]
        # The link opens a new tab so that reading the notice never loses the answers given so far.
        self.fields["consent_privacy"].label = format_html(
            _(
                'I have read the <a href="{url}" target="_blank" rel="noopener">privacy notice (opens in a new tab)</a>'
            ),
            url=reverse("privacy"),
        )
        self.fields["consent_contact"].label = _(
            "The clinic may contact me about this request by the ways I chose, and may call me about "
            "an unfinished request if my answers show I may be at risk"
        )

    def answers(self):
        answers = super().answers()
        answers["text_ok"] = answers.get("contact_method") == ContactMethod.TEXT
        return answers


class EligibilityStepForm(section_form("eligibility")):
    """Where the patient will be and whether they are 18 or older: the clinic cannot see everyone."""

    def clean(self):
        cleaned = super().clean()
        facts = details.get()
        if cleaned.get("is_adult") is False:
            self.add_error(
                "is_adult",
                _(
                    "We can only see people who are 18 or older. Please call us at %(phone)s and we will "
                    "help you find care that fits."
                )
                % {"phone": facts.phone},
            )
        state = cleaned.get("state")
        if state and facts.states_served and not facts.serves_state(state):
            self.add_error(
                "state",
                _(
                    "We can only see patients who are in %(states)s for the consultation. Please call us "
                    "at %(phone)s to talk about other options."
                )
                % {"states": ", ".join(facts.states_served_names), "phone": facts.phone},
            )
        return cleaned


class SendForm(section_form("check")):
    """The not-an-emergency acknowledgement, with Send's hidden fields: the one-time token and the
    honeypot."""

    # A field people never see: bots fill it in, browsers and people leave it empty.
    HONEYPOT_FIELD = "website"

    form_token = forms.CharField(required=False, widget=forms.HiddenInput)
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def clean_form_token(self):
        token = self.cleaned_data["form_token"]
        # A missing or mangled token only costs the double-submit protection, not the request.
        return token if TOKEN_RE.match(token) else new_token()

    def is_spam(self):
        return bool(self.data.get(self.HONEYPOT_FIELD, "").strip())


STEP_FORMS = {
    "contact": ContactStepForm,
    "safety": section_form("safety"),
    "eligibility": EligibilityStepForm,
    "visit": section_form("visit"),
}
