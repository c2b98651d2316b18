"""How the request list and page word things: ages, phone numbers, people, ticked answers."""

import functools

import phonenumbers
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from ..models import ConsultationRequest


def field_label(name):
    return capfirst(ConsultationRequest._meta.get_field(name).verbose_name)


def person_name(user):
    if user is None:
        return _("former staff member")
    return user.get_full_name() or user.get_username()


def age(elapsed):
    """How long ago, in its largest whole unit ("3 hours ago"): the queue's sense of time."""
    minutes = int(elapsed.total_seconds() // 60)
    for size, text in AGE_UNITS:
        if minutes >= size:
            return text % {"count": minutes // size}
    return gettext("just now")


AGE_UNITS = [
    (60 * 24 * 365, ngettext_lazy("%(count)d year ago", "%(count)d years ago", "count")),
    (60 * 24 * 30, ngettext_lazy("%(count)d month ago", "%(count)d months ago", "count")),
    (60 * 24 * 7, ngettext_lazy("%(count)d week ago", "%(count)d weeks ago", "count")),
    (60 * 24, ngettext_lazy("%(count)d day ago", "%(count)d days ago", "count")),
    (60, ngettext_lazy("%(count)d hour ago", "%(count)d hours ago", "count")),
    (1, ngettext_lazy("%(count)d minute ago", "%(count)d minutes ago", "count")),
]


@functools.lru_cache(maxsize=4096)
def phone_display(phone):
    try:
        parsed = phonenumbers.parse(phone, "US")
    except phonenumbers.NumberParseException:
        return phone
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if parsed.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, style)


def local_datetime(moment):
    return date_format(timezone.localtime(moment), "M j, Y, H:i T")


def ticked_labels(obj, names):
    """The staff's names of the yes/no answers that are yes, for a list of what was ticked."""
    return [field_label(name) for name in names if getattr(obj, name)]


def link(url, text):
    return render_to_string("admin/appointments/link.html", {"url": url, "text": text})
