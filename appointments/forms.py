"""The patient's consultation request form: every question, its checks and its messages."""

import re
import unicodedata
from functools import partial

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from clinic.context_processors import clinic_details

from .models import PHQ9_FIELDS, PHQ9_ITEMS, US_STATES, ConsultationRequest, Phq9Answer, new_token

Request = ConsultationRequest
SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]{1,200}$")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
URL_RE = re.compile(r"https?://|www\.", re.IGNORECASE)
# Tabs and line breaks are fine in the longer answers; no other control character is.
ALLOWED_CONTROLS = {"\t", "\n", "\r"}
ADULT_AGE = 18
OLDEST_AGE = 120

CHOOSE_LISTED = _("Choose one of the options listed.")


def reject_control_characters(value, allowed=ALLOWED_CONTROLS):
    if any(unicodedata.category(char) == "Cc" and char not in allowed for char in value):
        raise ValidationError(
            _(
                "Remove the hidden control characters from this answer (they can come from copying and pasting)."
            ),
            code="control_characters",
        )


def reject_web_addresses(value):
    if URL_RE.search(value):
        raise ValidationError(_("Enter your name without a web address."), code="web_address")


class TextField(forms.CharField):
    """A text answer with a length limit, no control characters and friendly messages."""

    def __init__(self, *, max_length, required_message=None, **kwargs):
        super().__init__(max_length=max_length, **kwargs)
        if isinstance(self.widget, forms.Textarea):
            self.validators.append(reject_control_characters)
        else:
            # A one-line answer (a name, a carrier) has no business holding a tab or a line break.
            self.validators.append(partial(reject_control_characters, allowed=()))
        self.error_messages["max_length"] = ngettext_lazy(
            "Shorten this to %(limit_value)d character or fewer (it has %(show_value)d).",
            "Shorten this to %(limit_value)d characters or fewer (it has %(show_value)d).",
            "limit_value",
        )
        self.error_messages["null_characters_not_allowed"] = _(
            "Remove the hidden control characters from this answer (they can come from copying and pasting)."
        )
        if required_message:
            self.error_messages["required"] = required_message


def choice_field(choices, *, label, required_message=None, radio=True, blank_label=None, **kwargs):
    if not radio and blank_label:
        choices = [("", blank_label), *choices]
    kwargs.setdefault("widget", forms.RadioSelect if radio else forms.Select)
    return forms.ChoiceField(
        label=label,
        choices=choices,
        error_messages={"invalid_choice": CHOOSE_LISTED, "required": required_message or CHOOSE_LISTED},
        **kwargs,
    )


def multiple_choice_field(choices, *, label, **kwargs):
    return forms.MultipleChoiceField(
        label=label,
        choices=choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        error_messages={"invalid_choice": CHOOSE_LISTED, "invalid_list": CHOOSE_LISTED},
        **kwargs,
    )


def consent_field(label, required_message):
    return forms.BooleanField(label=label, error_messages={"required": required_message})


# The ticked-box questions that are stored one boolean column per option.
TREATMENT_OPTIONS = [
    ("tried_mood_stabilisers", _("Mood stabilisers (such as lithium or lamotrigine)")),
    ("tried_therapy", _("Talking therapy")),
    ("tried_ect_tms", _("ECT or TMS")),
    ("tried_ketamine", _("Ketamine or esketamine (Spravato)")),
]
MEDICAL_OPTIONS = [
    ("high_blood_pressure", _("High blood pressure")),
    ("heart_disease_or_stroke", _("Heart disease, heart attack or stroke")),
    ("psychosis_history", _("Psychosis, hallucinations or delusions, now or in the past")),
    ("substance_use", _("Regular alcohol or drug use, now or in the past")),
    ("seizures", _("Seizures or epilepsy")),
    ("pregnant_or_breastfeeding", _("Pregnant, trying to get pregnant, or breastfeeding")),
    ("liver_disease", _("Liver disease")),
    ("bladder_problems", _("Bladder or urinary problems")),
    ("raised_eye_pressure", _("Glaucoma or raised pressure in the eye")),
]


class ConsultationRequestForm(forms.Form):
    """Every question of the consultation request, grouped in the sections the page shows."""

    # A field people never see: bots fill it in, browsers and people leave it empty.
    HONEYPOT_FIELD = "website"

    # Contact
    first_name = TextField(
        label=_("First name"),
        max_length=100,
        required_message=_("Enter your first name."),
        validators=[reject_web_addresses],
        widget=forms.TextInput(attrs={"autocomplete": "given-name", "spellcheck": "false"}),
    )
    last_name = TextField(
        label=_("Last name"),
        max_length=100,
        required_message=_("Enter your last name."),
        validators=[reject_web_addresses],
        widget=forms.TextInput(attrs={"autocomplete": "family-name", "spellcheck": "false"}),
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        help_text=_("We send your reference here. Our e-mails never include health details."),
        error_messages={
            "required": _("Enter your e-mail address."),
            "invalid": _("Enter an e-mail address in the right format, like name@example.com."),
            "max_length": _("Enter an e-mail address of 254 characters or fewer."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    phone = TextField(
        label=_("Phone number"),
        max_length=32,
        required_message=_("Enter a phone number we can reach you on."),
        help_text=_("A US number, or any number starting with + and its country code."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )
    contact_method = choice_field(
        Request.ContactMethod.choices,
        label=_("How should we contact you?"),
        required_message=_("Choose how you would like us to contact you."),
    )
    contact_times = multiple_choice_field(
        Request.ContactTime.choices,
        label=_("When is a good time? (optional)"),
        help_text=_("Tick all that suit you. Times are the clinic’s local time."),
    )
    voicemail_ok = forms.BooleanField(
        label=_("You may leave a voicemail that mentions the clinic’s name"), required=False
    )
    text_ok = forms.BooleanField(label=_("You may send me text messages"), required=False)

    # About you
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        help_text=_("You need to be 18 or over to ask for a consultation online."),
        input_formats=["%Y-%m-%d", "%m/%d/%Y"],
        error_messages={
            "required": _("Enter your date of birth."),
            "invalid": _("Enter your date of birth as a real date, for example 03/27/1985."),
        },
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d"),
    )
    state = choice_field(
        US_STATES,
        label=_("State you live in"),
        radio=False,
        blank_label=_("Choose your state"),
        required_message=_("Choose the state you live in."),
        widget=forms.Select(attrs={"autocomplete": "address-level1"}),
    )

    # What you want help with
    concern = choice_field(
        Request.Concern.choices,
        label=_("What would you most like help with?"),
        required_message=_("Choose what you would most like help with."),
    )
    concern_other = TextField(label=_("If something else, tell us briefly"), max_length=200, required=False)
    episode = choice_field(
        Request.Episode.choices,
        label=_("How would you describe your mood at the moment?"),
        required_message=_("Choose the answer that best describes your mood at the moment."),
    )

    # Safety
    self_harm_thoughts = forms.TypedChoiceField(
        label=_("Are you having thoughts of harming yourself or of ending your life at the moment?"),
        choices=[("no", _("No")), ("yes", _("Yes"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Answer this question, so that we know how to help you safely."),
            "invalid_choice": CHOOSE_LISTED,
        },
    )

    # Treatments already tried
    antidepressant_trials = choice_field(
        Request.AntidepressantTrials.choices,
        label=_("How many different antidepressants have you tried?"),
        required_message=_("Choose how many antidepressants you have tried, or “I’m not sure”."),
    )
    treatments_tried = multiple_choice_field(
        TREATMENT_OPTIONS,
        label=_("Have you tried any of these? (optional)"),
        help_text=_("Tick all that apply."),
    )
    treatments_other = TextField(
        label=_("Anything else you have tried (optional)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    # Medicines and health
    current_medications = TextField(
        label=_("Which medicines do you take at the moment? (optional)"),
        help_text=_("Include the dose if you know it. You can also tell us by phone."),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    medical_history = multiple_choice_field(
        MEDICAL_OPTIONS,
        label=_("Do any of these apply to you? (optional)"),
        help_text=_("Tick all that apply. A clinician reads these before your consultation."),
    )
    medical_history_other = TextField(
        label=_("Any other health conditions we should know about (optional)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    # Preferences, payment, how they found us
    modality = choice_field(
        Request.Modality.choices,
        label=_("How would you like your first consultation?"),
        required_message=_("Choose in person, telehealth, or either."),
    )
    treatment_preference = choice_field(
        Request.Treatment.choices,
        label=_("Which treatment are you interested in?"),
        required_message=_("Choose a treatment, or “Undecided”."),
    )
    payment = choice_field(
        Request.Payment.choices,
        label=_("How do you expect to pay?"),
        required_message=_("Choose how you expect to pay, or “I’m not sure yet”."),
    )
    insurance_carrier = TextField(
        label=_("Insurance carrier (if you chose health insurance)"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    heard_about = choice_field(
        Request.HeardAbout.choices,
        label=_("How did you hear about us? (optional)"),
        radio=False,
        blank_label=_("Choose an answer"),
        required=False,
    )
    heard_about_other = TextField(label=_("Tell us more (optional)"), max_length=200, required=False)

    # Consents
    consent_privacy = consent_field(
        _("I have read the privacy notice"),
        _("Confirm that you have read the privacy notice."),
    )
    consent_contact = consent_field(
        _("The clinic may contact me about this request by the ways I chose"),
        _("Confirm that we may contact you about your request."),
    )
    consent_not_emergency = consent_field(
        _("I understand this form is not for emergencies"),
        _("Confirm that you understand this form is not for emergencies."),
    )

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
            "id": "contact",
            "legend": _("Your contact details"),
            "fields": [
                "first_name",
                "last_name",
                "email",
                "phone",
                "contact_method",
                "contact_times",
                "voicemail_ok",
                "text_ok",
            ],
        },
        {"id": "about", "legend": _("About you"), "fields": ["date_of_birth", "state"]},
        {
            "id": "help",
            "legend": _("What you would like help with"),
            "fields": ["concern", "concern_other", "episode"],
        },
        {
            "id": "safety",
            "legend": _("Your safety"),
            "intro": _(
                "We ask everyone this. Whatever you answer, your request is sent and a person at the clinic reads it."
            ),
            "fields": ["self_harm_thoughts"],
        },
        {
            "id": "treatments",
            "legend": _("Treatments you have tried"),
            "fields": ["antidepressant_trials", "treatments_tried", "treatments_other"],
        },
        {
            "id": "health",
            "legend": _("Your medicines and health"),
            "fields": ["current_medications", "medical_history", "medical_history_other"],
        },
        {
            "id": "phq9",
            "legend": _("How you have been feeling (optional)"),
            "intro": _(
                "These nine questions are the PHQ-9, a questionnaire clinicians use. Answer all nine, or "
                "leave them all blank and talk it through with us instead."
            ),
            "question": _(
                "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
            ),
            "fields": PHQ9_FIELDS,
        },
        {
            "id": "preferences",
            "legend": _("Your preferences"),
            "fields": ["modality", "treatment_preference"],
        },
        {
            "id": "payment",
            "legend": _("Payment, and how you found us"),
            "fields": ["payment", "insurance_carrier", "heard_about", "heard_about_other"],
        },
        {
            "id": "consents",
            "legend": _("Before you send your request"),
            "fields": ["consent_privacy", "consent_contact", "consent_not_emergency"],
        },
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for number, (name, text) in enumerate(zip(PHQ9_FIELDS, PHQ9_ITEMS, strict=True), start=1):
            self.fields[name] = forms.TypedChoiceField(
                label=format_html("{}. {}", number, text),
                choices=Phq9Answer.choices,
                coerce=int,
                empty_value=None,
                required=False,
                widget=forms.RadioSelect,
                error_messages={"invalid_choice": CHOOSE_LISTED},
            )
        # The link opens a new tab so that reading the notice never loses the answers given so far.
        self.fields["consent_privacy"].label = format_html(
            _(
                'I have read the <a href="{url}" target="_blank" rel="noopener">privacy notice (opens in a new tab)</a>'
            ),
            url=reverse("privacy"),
        )

    # Field checks

    def clean_phone(self):
        raw = self.cleaned_data["phone"]
        try:
            number = phonenumbers.parse(raw, "US")
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            raise ValidationError(
                _("Enter a phone number we can call, like (212) 555-0123, or +44 20 7946 0958 from abroad."),
                code="invalid_phone",
            )
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if born >= today:
            raise ValidationError(_("Your date of birth must be in the past."), code="future")
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        if age > OLDEST_AGE:
            raise ValidationError(_("Check the year of your date of birth."), code="too_old")
        if age < ADULT_AGE:
            phone = clinic_details()["phone"]
            raise ValidationError(
                _(
                    "We can only accept online requests from adults aged 18 or over. If you are under 18, "
                    "please ask a parent or guardian to call us on %(phone)s: we will gladly talk with you "
                    "both. If you need help now, call or text 988."
                )
                % {"phone": phone},
                code="under_18",
            )
        return born

    def clean_source_article(self):
        slug = self.cleaned_data["source_article"].strip()
        return slug if SLUG_RE.match(slug) else ""

    def clean_form_token(self):
        token = self.cleaned_data["form_token"]
        # A missing or mangled token only costs the double-submit protection, not the request.
        return token if TOKEN_RE.match(token) else new_token()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("concern") == Request.Concern.OTHER and not cleaned.get("concern_other"):
            self.add_error("concern_other", _("Tell us briefly what you would like help with."))
        if cleaned.get("payment") == Request.Payment.INSURANCE and not cleaned.get("insurance_carrier"):
            self.add_error(
                "insurance_carrier",
                _("Enter the name of your insurance carrier, or choose another way to pay."),
            )
        if cleaned.get("contact_method") == Request.ContactMethod.TEXT and not cleaned.get("text_ok"):
            self.add_error(
                "text_ok",
                _("You chose text messages: tick this box so that we may text you, or choose another way."),
            )
        answered = [name for name in PHQ9_FIELDS if cleaned.get(name) is not None]
        if answered and len(answered) < len(PHQ9_FIELDS):
            for name in PHQ9_FIELDS:
                if name not in answered and name not in self.errors:
                    self.add_error(
                        name,
                        _(
                            "Answer this question too (you answered %(count)d of the 9), "
                            "or leave all nine questions blank."
                        )
                        % {"count": len(answered)},
                    )
        return cleaned

    # What the view and template need

    def is_spam(self):
        return bool(self.data.get(self.HONEYPOT_FIELD, "").strip())

    def reports_self_harm(self):
        """Whether the submitted answers, valid or not, mention current thoughts of self-harm."""
        return self.data.get("self_harm_thoughts") == "yes" or self.data.get("phq9_9") in {"1", "2", "3"}

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
        answers = {
            name: data[name]
            for name in [
                "first_name",
                "last_name",
                "email",
                "phone",
                "contact_method",
                "contact_times",
                "voicemail_ok",
                "text_ok",
                "date_of_birth",
                "state",
                "concern",
                "concern_other",
                "episode",
                "self_harm_thoughts",
                "antidepressant_trials",
                "treatments_other",
                "current_medications",
                "medical_history_other",
                *PHQ9_FIELDS,
                "modality",
                "treatment_preference",
                "payment",
                "insurance_carrier",
                "heard_about",
                "heard_about_other",
                "consent_privacy",
                "consent_contact",
                "consent_not_emergency",
            ]
        }
        for name, _label in TREATMENT_OPTIONS:
            answers[name] = name in data["treatments_tried"]
        for name, _label in MEDICAL_OPTIONS:
            answers[name] = name in data["medical_history"]
        return answers
