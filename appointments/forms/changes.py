"""The patient's forms for changing a booked consultation: why (optional), and what next after cancelling."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ..services.scheduling import ChangeReason


class ReasonForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why are you changing it? (optional)"),
        choices=[("", _("I would rather not say")), *ChangeReason.choices],
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )


class CancelForm(ReasonForm):
    CALL_ME = "call_me"
    WITHDRAW = "withdraw"

    next_step = forms.ChoiceField(
        label=_("What would you like us to do?"),
        choices=[
            (CALL_ME, _("Call me to find another time")),
            (WITHDRAW, _("Nothing: I no longer want a consultation")),
        ],
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        initial=CALL_ME,
        error_messages={"required": _("Choose what you would like us to do.")},
    )

    field_order = ["next_step", "reason"]
