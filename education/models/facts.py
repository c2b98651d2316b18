"""The clinic's facts: how to reach it, when it is open, what it costs and whom it can see.

One clinic profile (a single row) with its opening hours, closures and prices, edited by clinic
admins in the admin. Every page, form and e-mail reads them through ``clinic.details``, never
from here directly. Rows that ``make run`` filled in are marked as samples until someone edits them.
"""

import contextlib
import zoneinfo

import phonenumbers
from django.contrib.postgres.fields import ArrayField
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models, transaction
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from appointments.models import US_STATES

from .articles import library_content_changed

# In the shared cache: the clinic's facts as ``clinic.details`` last read them.
FACTS_CACHE_KEY = "clinic:facts"
STATES = [(code, name) for code, name in US_STATES if code != "XX"]


def _forget_cached_facts():
    # With the cache down, an entry it still holds expires within ``clinic.details.CACHE_SECONDS``.
    with contextlib.suppress(Exception):
        cache.delete(FACTS_CACHE_KEY)


def clinic_facts_changed():
    """Forget the cached facts (now and once the transaction commits) and the pages showing them."""
    _forget_cached_facts()
    transaction.on_commit(_forget_cached_facts)
    # A clinic admin's change is saved even with the cache down; cached pages then expire on their own.
    with contextlib.suppress(Exception):
        library_content_changed()


class FactsRow(models.Model):
    """What every part of the clinic's facts shares: changing one forgets the cached facts."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        clinic_facts_changed()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        clinic_facts_changed()
        return result


class ClinicProfile(FactsRow):
    """The clinic itself. There is only ever one row (a constraint keeps it so)."""

    singleton = models.BooleanField(default=True, editable=False, unique=True)
    name = models.CharField(_("clinic name"), max_length=200)
    phone = models.CharField(_("phone"), max_length=40, help_text=_("For example: (555) 010-0100."))
    email = models.EmailField(_("e-mail for patients"), blank=True)
    street_address = models.CharField(_("street address"), max_length=200)
    locality = models.CharField(_("town or city"), max_length=100)
    region = models.CharField(_("state"), max_length=2, choices=STATES)
    postal_code = models.CharField(_("ZIP code"), max_length=10)
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default="America/New_York",
        help_text=_("The clinic's local time, for example America/New_York. Opening hours are in it."),
    )
    consultation_fee = models.DecimalField(
        _("consultation fee (USD)"),
        max_digits=8,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text=_("0 shows the consultation as free."),
    )
    consultation_fee_note = models.CharField(
        _("about the fee"),
        max_length=300,
        blank=True,
        help_text=_("For example: credited toward your first treatment if you go ahead."),
    )
    minimum_age = models.PositiveSmallIntegerField(_("minimum age"), default=18)
    states_served = ArrayField(
        models.CharField(max_length=2, choices=STATES),
        verbose_name=_("states served"),
        default=list,
        blank=True,
        help_text=_("Where patients must be during a consultation or treatment (licensing follows them)."),
    )
    insurance_note = models.TextField(_("insurance in general"), blank=True)
    what_to_bring = models.TextField(_("what to bring"), blank=True, help_text=_("One item per line."))
    first_consultation = models.TextField(_("the first consultation"), blank=True)
    treatment_day = models.TextField(_("a treatment day"), blank=True)
    aftercare = models.TextField(_("after treatment"), blank=True)
    urgent_protocol = models.TextField(
        _("urgent protocol"),
        blank=True,
        help_text=_("What staff do with an urgent request. Shown to staff only."),
    )
    # The fields still holding the values ``make run`` filled in: the admin marks them.
    sample_fields = ArrayField(models.CharField(max_length=40), default=list, blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("clinic facts")
        verbose_name_plural = _("clinic facts")
        constraints = [
            models.CheckConstraint(condition=Q(singleton=True), name="education_clinicprofile_single_row"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        errors = {}
        try:
            phonenumbers.parse(self.phone, "US")
        except phonenumbers.NumberParseException:
            errors["phone"] = _("Enter a phone number, for example (555) 010-0100.")
        try:
            zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = _("Enter a time zone such as America/New_York.")
        if errors:
            raise ValidationError(errors)


class OpeningHours(FactsRow):
    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    profile = models.ForeignKey(ClinicProfile, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))
    is_sample = models.BooleanField(_("sample value"), default=False, editable=False)

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        constraints = [
            models.CheckConstraint(
                condition=Q(closes__gt=F("opens")),
                name="education_openinghours_closes_after_opens",
                violation_error_message=_("The clinic must close after it opens."),
            ),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class Closure(FactsRow):
    """Days the clinic is closed although its weekly hours say open: holidays, training days."""

    profile = models.ForeignKey(ClinicProfile, on_delete=models.CASCADE, related_name="closures")
    first_day = models.DateField(_("first day closed"))
    last_day = models.DateField(_("last day closed"), help_text=_("The same as the first day for one day."))
    reason = models.CharField(
        _("reason"), max_length=100, help_text=_("Shown to patients, e.g. Thanksgiving.")
    )
    is_sample = models.BooleanField(_("sample value"), default=False, editable=False)

    class Meta:
        ordering = ["first_day"]
        verbose_name = _("closure")
        verbose_name_plural = _("holidays and closures")
        constraints = [
            models.CheckConstraint(
                condition=Q(last_day__gte=F("first_day")),
                name="education_closure_ends_after_start",
                violation_error_message=_("The last day closed cannot come before the first."),
            ),
        ]
        indexes = [models.Index(fields=["last_day"], name="education_closure_last_day_idx")]

    def __str__(self):
        return f"{self.reason} ({self.first_day:%Y-%m-%d})"


class TreatmentPrice(FactsRow):
    profile = models.ForeignKey(ClinicProfile, on_delete=models.CASCADE, related_name="prices")
    kind = models.CharField(_("treatment"), max_length=120, help_text=_("For example: IV ketamine infusion."))
    price = models.DecimalField(
        _("price (USD)"), max_digits=8, decimal_places=2, validators=[MinValueValidator(0)]
    )
    unit = models.CharField(_("per"), max_length=60, help_text=_("For example: per infusion."))
    typical_series = models.CharField(
        _("typical series"),
        max_length=200,
        blank=True,
        help_text=_("For example: 6 infusions over 2–3 weeks."),
    )
    series_price = models.DecimalField(
        _("typical series price (USD)"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    insurance = models.CharField(_("what insurance usually covers"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_sample = models.BooleanField(_("sample value"), default=False, editable=False)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("price")
        verbose_name_plural = _("prices")

    def __str__(self):
        return self.kind
