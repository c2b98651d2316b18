"""Choosing one open time: radio buttons grouped by day, in the clinic's time zone, named.

Any page that lets someone pick a time uses this form with ``templates/appointments/_times.html``:
the caller computes the open times (``appointments.slots``) and passes them in, grouped by day
(``open_times_by_day``). A time is posted as its UTC instant (``20260601T1400Z``), so the value
means the same real moment whatever the clocks do; a value that is not one of the times offered,
because it was taken meanwhile or was never open, is refused with a message, never a crash.
"""

import datetime
import functools
from typing import NamedTuple

from django import forms
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ..staff_calendar import time_zone_label

VALUE_FORMAT = "%Y%m%dT%H%MZ"
CALL_ME = "call-me"


def time_value(moment: datetime.datetime) -> str:
    """The form's value for an instant: its UTC time to the minute."""
    return moment.astimezone(datetime.UTC).strftime(VALUE_FORMAT)


def parse_time_value(value: str) -> datetime.datetime | None:
    """The instant a posted value names, or None for anything that is not such a value."""
    if not isinstance(value, str) or len(value) != len("20260601T1400Z"):
        return None
    try:
        moment = datetime.datetime.strptime(value, VALUE_FORMAT).replace(tzinfo=datetime.UTC)
    except ValueError:
        return None
    # Years at the calendar's edges cannot be moved into another zone (year 1, year 9999).
    return moment if 2000 <= moment.year <= 9998 else None


def time_label(moment: datetime.datetime) -> str:
    local = timezone.localtime(moment)
    return _clock_label(local.hour, local.minute, get_language())


@functools.lru_cache(maxsize=1024)
def _clock_label(hour: int, minute: int, language: str | None) -> str:
    # Formatting goes through the active translation ("AM" and "PM"): once per clock time and
    # language, not once for each of the hundred times on a page.
    return date_format(datetime.datetime(2000, 1, 1, hour, minute), "g:i A")


def time_labels(times: list[tuple[datetime.date, list[datetime.datetime]]]) -> dict[datetime.datetime, str]:
    """``time_label`` of every instant in ``times`` (grouped by local day), computed per day.

    A day's offset from UTC changes only on the two days the clocks do: it is looked up once a
    day rather than for every time offered (each clock time is formatted once, ``_clock_label``).
    """
    zone = timezone.get_current_timezone()
    language = get_language()
    labels = {}
    for _day, moments in times:
        if not moments:
            continue
        offset = min(moments).astimezone(zone).utcoffset()
        steady = max(moments).astimezone(zone).utcoffset() == offset
        for moment in moments:
            local = (moment + offset).replace(tzinfo=None) if steady else timezone.localtime(moment, zone)
            labels[moment] = _clock_label(local.hour, local.minute, language)
    return labels


class Radio(NamedTuple):
    """One radio button, as the template reads a bound widget (``tag``, ``id_for_label``, ...)."""

    tag: str
    id_for_label: str
    choice_label: str
    data: dict


class OpenTimeField(forms.ChoiceField):
    """A choice among the times offered; a value that names no time at all gets its own message."""

    def validate(self, value):
        if value and value != CALL_ME and parse_time_value(value) is None:
            raise forms.ValidationError(
                _("That is not one of the times we offered. Please choose one of the times shown."),
                code="unknown_time",
            )
        super().validate(value)


class OpenTimesForm(forms.Form):
    """One open time out of ``times``, or "call me to find a time" when ``call_me`` is set.

    ``times`` is ``[(local date, [instant, ...]), ...]`` as ``slots.open_times_by_day`` returns it.
    ``cleaned_data["time"]`` is the chosen instant (aware, UTC), or ``CALL_ME``.
    """

    CALL_ME = CALL_ME

    time = OpenTimeField(
        label=_("Choose a time"),
        widget=forms.RadioSelect(attrs={"class": "open-times__input"}),
        error_messages={
            "required": _("Choose one of the times."),
            "invalid_choice": _("That time is no longer open. Please choose another of the times shown."),
        },
    )

    def __init__(self, *args, times, call_me=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.times = times
        self.call_me = call_me
        self.zone_label = time_zone_label()
        labels = time_labels(times)
        choices = [(time_value(moment), labels[moment]) for _day, moments in times for moment in moments]
        if call_me:
            choices.append((CALL_ME, _("None of these: call me to find a time")))
        self.fields["time"].choices = choices

    def clean_time(self):
        value = self.cleaned_data["time"]
        return CALL_ME if value == CALL_ME else parse_time_value(value)

    @functools.cached_property
    def _radios(self):
        """Every radio button by value, with the markup Django's RadioSelect gives it.

        Built here rather than by the widget's templates: a week holds a hundred times or more, and
        rendering each through the template engine made the page several times slower.
        """
        bound = self["time"]
        attrs = {**bound.field.widget.attrs, **bound.build_widget_attrs({})}
        chosen = bound.value()
        chosen = "" if chosen is None else str(chosen)
        radios = {}
        for index, (value, label) in enumerate(bound.field.choices):
            radio_id = f"{bound.auto_id}_{index}" if bound.auto_id else ""
            radio_attrs = {**attrs, "id": radio_id or None, "checked": value == chosen}
            tag = format_html(
                '<input type="radio" name="{}" value="{}"{}>', bound.html_name, value, flatatt(radio_attrs)
            )
            radios[value] = Radio(tag, radio_id, label, {"value": value})
        return radios

    def days(self):
        """The radio buttons of each day: ``[(date, [radio, ...]), ...]``, for the template."""
        radios = self._radios
        return [(day, [radios[time_value(moment)] for moment in moments]) for day, moments in self.times]

    def call_me_button(self):
        if not self.call_me:
            return None
        return self._radios[CALL_ME]
