"""The form fields every patient form builds on: one per kind of question, with their checks."""

import datetime
import re
import unicodedata
from functools import partial

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from django.forms.renderers import get_default_renderer
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from clinic import details

from .. import questionnaire
from ..questionnaire import PHQ9_FIELDS, Kind, Phq9Answer

# \Z, not $: a $ also matches before a final line break ("slug\n").
SLUG_RE = re.compile(r"\A[-a-zA-Z0-9_]{1,200}\Z")
TOKEN_RE = re.compile(r"\A[A-Za-z0-9_-]{20,64}\Z")
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


def reject_invisible_characters(value):
    # Format characters (U+200B zero-width space, U+202E right-to-left override, ...) draw
    # nothing or turn the text around: a name could read as another, or as filled in when empty.
    if any(unicodedata.category(char) == "Cf" for char in value):
        raise ValidationError(
            _("Remove the invisible or direction-changing characters from this answer."),
            code="invisible_characters",
        )


# A domain name: labels of letters or digits joined by dots, the last of two letters or more
# ("evil.com", "xn--80ak6aa92e.com"). A dot followed by a space ("Dr. Li") or single letters
# ("J.R.R. Tolkien") are not one. Checked after NFKC, which makes full-width dots and digits plain.
DOMAIN_RE = re.compile(
    r"[^\W_](?:[\w-]*[^\W_])?\.(?:[^\W_][\w-]*\.)*(?:[^\W\d_]{2,}|xn--[\w-]+)", re.IGNORECASE
)
# Dots a browser or a mail program may read as the dot of a domain name.
DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": ".", "\u2024": "."})
# More digits than any name holds: a phone number, or part of one ("1-800-FLOWERS", a short code).
NAME_DIGITS = 3


def reject_contact_details_in_name(value):
    """A name is what the clinic's e-mails start with ("Dear ..."): not a phone number, a web
    address or a domain name, which would turn the clinic's own message into someone's advert."""
    plain = unicodedata.normalize("NFKC", value).translate(DOTS)
    if (
        URL_RE.search(plain)
        or DOMAIN_RE.search(plain)
        or "@" in plain
        or sum(char.isdigit() for char in plain) >= NAME_DIGITS
    ):
        raise ValidationError(
            _("Enter your name without a phone number or web address."), code="contact_details"
        )


def phone_number_e164(raw):
    """A phone number a patient typed, in international format, or a message saying what is wrong."""
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


def check_date_of_birth(born):
    """Refuse a birth date in the future, an impossible age, or a patient under 18."""
    today = timezone.localdate()
    if born >= today:
        raise ValidationError(_("Your date of birth must be in the past."), code="future")
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if age > OLDEST_AGE:
        raise ValidationError(_("Check the year of your date of birth."), code="too_old")
    if age < ADULT_AGE:
        phone = details.get().phone
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


class MemorableDateWidget(forms.MultiWidget):
    """A date in three boxes, month, day and year, as GOV.UK asks a date people know by heart."""

    template_name = "appointments/widgets/memorable_date.html"
    PARTS = [
        ("month", _("Month"), "bday-month", "2"),
        ("day", _("Day"), "bday-day", "2"),
        ("year", _("Year"), "bday-year", "4"),
    ]

    def __init__(self, attrs=None):
        widgets = {
            name: forms.TextInput(
                attrs={
                    "inputmode": "numeric",
                    "autocomplete": autocomplete,
                    "size": size,
                    "spellcheck": "false",
                }
            )
            for name, _label, autocomplete, size in self.PARTS
        }
        super().__init__(widgets, attrs)

    def decompress(self, value):
        if isinstance(value, datetime.date):
            return [value.month, value.day, value.year]
        return [None, None, None]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        for subwidget, (part, label, _autocomplete, size) in zip(
            context["widget"]["subwidgets"], self.PARTS, strict=True
        ):
            subwidget["label"] = label
            subwidget["part"] = part
            subwidget["size_class"] = f"date-input__input--{size}"
        return context

    def _render(self, template_name, context, renderer=None):
        # Each box by the form renderer (Django's own widget templates), the three together by a
        # template in the project's folder, which the default form renderer does not search.
        renderer = renderer or get_default_renderer()
        for subwidget in context["widget"]["subwidgets"]:
            subwidget["html"] = mark_safe(renderer.render(subwidget["template_name"], {"widget": subwidget}))  # noqa: S308
        return mark_safe(render_to_string(template_name, context))  # noqa: S308 (a template's output)


DATE_PART = re.compile(r"\A[0-9]{1,4}\Z")


class MemorableDateField(forms.MultiValueField):
    """A date typed in three boxes, with one message that names what is wrong (GOV.UK's pattern)."""

    widget = MemorableDateWidget

    def __init__(self, *, name=None, required=False, **kwargs):
        self.name = name or _("date")
        parts = (forms.CharField(), forms.CharField(), forms.CharField())
        super().__init__(parts, require_all_fields=False, required=required, **kwargs)

    def clean(self, value):
        month, day, year = (str(part or "").strip() for part in (list(value or []) + [None] * 3)[:3])
        if not (month or day or year):
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return None
        name = capfirst(self.name)
        missing = [part for part, given in (("month", month), ("day", day), ("year", year)) if not given]
        if missing:
            raise ValidationError(MISSING_DATE_PARTS[tuple(missing)] % {"name": name}, code="incomplete")
        if not all(DATE_PART.match(part) for part in (month, day, year)):
            raise ValidationError(REAL_DATE % {"name": name}, code="invalid")
        if len(year) != 4:
            raise ValidationError(_("Enter the year as 4 numbers, like 1985."), code="year")
        try:
            return datetime.date(int(year), int(month), int(day))
        except ValueError:
            raise ValidationError(REAL_DATE % {"name": name}, code="invalid") from None

    def compress(self, data_list):  # clean() above does the whole job
        raise NotImplementedError


REAL_DATE = _("%(name)s must be a real date, like 3 27 1985 (month, day, year).")
MISSING_DATE_PARTS = {
    ("month",): _("%(name)s must include a month."),
    ("day",): _("%(name)s must include a day."),
    ("year",): _("%(name)s must include a year."),
    ("month", "day"): _("%(name)s must include a month and a day."),
    ("month", "year"): _("%(name)s must include a month and a year."),
    ("day", "year"): _("%(name)s must include a day and a year."),
}


class TextField(forms.CharField):
    """A text answer with a length limit, no control characters and friendly messages."""

    def __init__(self, *, max_length, required_message=None, **kwargs):
        super().__init__(max_length=max_length, **kwargs)
        if isinstance(self.widget, forms.Textarea):
            self.validators.append(reject_control_characters)
        else:
            # A one-line answer (a name, a carrier) has no business holding a tab or a line break.
            self.validators.append(partial(reject_control_characters, allowed=()))
            self.validators.append(reject_invisible_characters)
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


def question_field(question):
    """The form field that asks ``question`` of the questionnaire."""
    common = {"label": question.label, "help_text": question.help_text}
    required = question.required
    match question.kind:
        case Kind.TEXT | Kind.PHONE | Kind.LONG_TEXT:
            widget = (
                forms.Textarea(attrs={"rows": question.rows})
                if question.kind == Kind.LONG_TEXT
                else forms.TextInput(attrs=question.attrs or None)
            )
            return TextField(
                max_length=question.input_max_length or question.max_length,
                required=required,
                required_message=question.required_message,
                widget=widget,
                **common,
            )
        case Kind.EMAIL:
            return forms.EmailField(
                max_length=question.max_length,
                error_messages=question.messages,
                widget=forms.EmailInput(attrs=question.attrs),
                **common,
            )
        case Kind.DATE:
            return MemorableDateField(
                name=question.verbose_name or question.label,
                required=required,
                error_messages=question.messages,
                **common,
            )
        case Kind.NUMBER:
            low, high = question.number_range
            between = _("Enter a number from %(low)d to %(high)d, or leave it blank.") % {
                "low": low,
                "high": high,
            }
            return forms.IntegerField(
                required=required,
                min_value=low,
                max_value=high,
                widget=forms.TextInput(attrs=question.attrs or None),
                error_messages={
                    "invalid": _("Enter the number only, like %(example)d.") % {"example": (low + high) // 2},
                    "min_value": between,
                    "max_value": between,
                },
                **common,
            )
        case Kind.CHOICE | Kind.SELECT:
            radio = question.kind == Kind.CHOICE
            return choice_field(
                question.choices,
                radio=radio,
                blank_label=question.messages.get("blank_label"),
                required_message=question.required_message,
                required=required,
                **({} if radio else {"widget": forms.Select(attrs=question.attrs or None)}),
                **common,
            )
        case Kind.MULTIPLE:
            return multiple_choice_field(question.choices, **common)
        case Kind.TICKS:
            return multiple_choice_field(
                [(option.name, option.label) for option in question.options], **common
            )
        case Kind.TICK:
            return forms.BooleanField(required=False, **common)
        case Kind.CONSENT:
            return forms.BooleanField(error_messages={"required": question.required_message}, **common)
        case Kind.YES_NO:
            return forms.TypedChoiceField(
                choices=[("no", _("No")), ("yes", _("Yes"))],
                coerce=lambda value: value == "yes",
                empty_value=None,
                required=required,
                widget=forms.RadioSelect,
                error_messages={"required": question.required_message, "invalid_choice": CHOOSE_LISTED},
                **common,
            )
        case Kind.SCORE:
            number = PHQ9_FIELDS.index(question.name) + 1
            return forms.TypedChoiceField(
                # Lazy: the form class is built once, and the label must follow each page's language.
                label=format_lazy("{}. {}", number, question.label),
                choices=Phq9Answer.choices,
                coerce=int,
                empty_value=None,
                required=False,
                widget=forms.RadioSelect,
                error_messages={"invalid_choice": CHOOSE_LISTED},
            )
    raise ValueError(f"No form field for a question of kind {question.kind}")


# A form with one field per question of the questionnaire, in its order.
QuestionnaireForm = type(
    "QuestionnaireForm",
    (forms.Form,),
    {name: question_field(question) for name, question in questionnaire.QUESTIONS.items()},
)
