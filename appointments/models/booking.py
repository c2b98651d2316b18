"""The model of time: clinicians, the kinds of consultation, weekly hours and dated exceptions.

Hours and exceptions are wall-clock times in the clinic's time zone (``CLINIC_TIME_ZONE``); the
open times computed from them (``appointments.slots``) are real instants, stored in UTC.
"""

import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from ..questionnaire import US_STATES

# A clinician is licensed by a state; "outside the US" is an answer a patient can give, not a licence.
LICENSABLE_STATES = [(code, name) for code, name in US_STATES if code != "XX"]


def new_calendar_feed_token():
    return secrets.token_urlsafe(32)


class ConsultationKind(models.Model):
    """A kind of consultation a patient can book: how long, how it is held, how far ahead."""

    class Modality(models.TextChoices):
        IN_PERSON = "in_person", _("In person only")
        TELEHEALTH = "telehealth", _("Telehealth (video) only")
        EITHER = "either", _("In person or by video")

    name = models.CharField(
        _("name"), max_length=100, help_text=_("As patients read it, e.g. “First consultation”.")
    )
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    duration_minutes = models.PositiveSmallIntegerField(
        _("length (minutes)"), validators=[MinValueValidator(10), MaxValueValidator(240)]
    )
    buffer_before_minutes = models.PositiveSmallIntegerField(
        _("buffer before (minutes)"),
        default=0,
        validators=[MaxValueValidator(120)],
        help_text=_("Kept free before the consultation: nothing else is booked into it."),
    )
    buffer_after_minutes = models.PositiveSmallIntegerField(
        _("buffer after (minutes)"),
        default=0,
        validators=[MaxValueValidator(120)],
        help_text=_("Kept free after the consultation, for notes or a late finish."),
    )
    interval_minutes = models.PositiveSmallIntegerField(
        _("start times every (minutes)"),
        default=15,
        validators=[MinValueValidator(5), MaxValueValidator(240)],
        help_text=_("Open times start this often, counted from the start of the clinician's hours."),
    )
    minimum_notice_minutes = models.PositiveIntegerField(
        _("minimum notice (minutes)"),
        default=24 * 60,
        help_text=_("How soon a patient may book: 1440 is 24 hours."),
    )
    horizon_days = models.PositiveSmallIntegerField(
        _("bookable ahead (days)"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(366)],
        help_text=_("How far ahead a patient may book."),
    )
    modality = models.CharField(_("held"), max_length=12, choices=Modality.choices, default=Modality.EITHER)
    is_active = models.BooleanField(_("offered"), default=True, help_text=_("Untick to stop offering it."))
    is_sample = models.BooleanField(
        _("sample data"), default=False, help_text=_("Made by the sample loader; replace before going live.")
    )

    class Meta:
        verbose_name = _("consultation kind")
        verbose_name_plural = _("consultation kinds")
        ordering = ["duration_minutes", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__range=(10, 240)), name="appt_kind_duration_range"
            ),
            models.CheckConstraint(condition=Q(interval_minutes__gte=5), name="appt_kind_interval_min"),
        ]

    def __str__(self):
        return self.name

    def offers(self, modality: str) -> bool:
        """Whether an appointment of this kind may be held as ``modality`` (an Appointment modality)."""
        return self.modality in (self.Modality.EITHER, modality)


class ClinicianQuerySet(models.QuerySet):
    def bookable(self, *, kind: ConsultationKind | None = None, state: str | None = None):
        """Active clinicians who do ``kind`` and are licensed in ``state`` (each when given)."""
        clinicians = self.filter(is_active=True)
        if kind is not None:
            clinicians = clinicians.filter(kinds=kind)
        if state:
            clinicians = clinicians.filter(licensed_states__contains=[state])
        return clinicians


class Clinician(models.Model):
    """A staff member whom patients can book: their public name, licences and kinds of consultation."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff login"),
        related_name="clinician",
        on_delete=models.PROTECT,
    )
    display_name = models.CharField(
        _("display name"), max_length=100, help_text=_("As patients see it, e.g. “Dr. Ana Reyes”.")
    )
    credentials = models.CharField(
        _("credentials"), max_length=100, blank=True, help_text=_("e.g. MD, PMHNP-BC")
    )
    photo = models.ImageField(_("photo"), upload_to="clinicians/", blank=True)
    kinds = models.ManyToManyField(
        ConsultationKind, verbose_name=_("consultation kinds"), related_name="clinicians", blank=True
    )
    licensed_states = ArrayField(
        models.CharField(max_length=2, choices=LICENSABLE_STATES),
        verbose_name=_("licensed in"),
        default=list,
        blank=True,
        help_text=_("Patients are offered this clinician only from these states."),
    )
    telehealth_instructions = models.TextField(
        _("video link and how to join"),
        max_length=1000,
        blank=True,
        help_text=_("Sent to patients who book this clinician by video."),
    )
    is_active = models.BooleanField(_("taking bookings"), default=True)
    calendar_feed_token = models.CharField(
        _("calendar feed secret"), max_length=64, unique=True, default=new_calendar_feed_token, editable=False
    )
    is_sample = models.BooleanField(
        _("sample data"), default=False, help_text=_("Made by the sample loader; replace before going live.")
    )

    objects = ClinicianQuerySet.as_manager()

    class Meta:
        verbose_name = _("clinician")
        verbose_name_plural = _("clinicians")
        ordering = ["display_name", "pk"]

    def __str__(self):
        return self.display_name


class WeeklyHours(models.Model):
    """One stretch of a clinician's regular working time on one weekday, in the clinic's time zone."""

    class Weekday(models.IntegerChoices):
        # Python's date.weekday() numbering.
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    clinician = models.ForeignKey(
        Clinician, verbose_name=_("clinician"), related_name="weekly_hours", on_delete=models.CASCADE
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts = models.TimeField(_("from"))
    ends = models.TimeField(_("until"))

    class Meta:
        verbose_name = _("weekly hours")
        verbose_name_plural = _("weekly hours")
        ordering = ["clinician", "weekday", "starts"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends__gt=F("starts")),
                name="appt_weeklyhours_ends_after_starts",
                violation_error_message=_("The end must be after the start."),
            ),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.starts:%H:%M}–{self.ends:%H:%M}"


class AvailabilityException(models.Model):
    """A dated change to a clinician's week: time off (a whole day or part of one), or an extra stretch."""

    class Kind(models.TextChoices):
        TIME_OFF = "time_off", _("Time off")
        EXTRA = "extra", _("Extra hours")

    clinician = models.ForeignKey(
        Clinician, verbose_name=_("clinician"), related_name="exceptions", on_delete=models.CASCADE
    )
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.TIME_OFF)
    starts = models.TimeField(
        _("from"), null=True, blank=True, help_text=_("Leave both times empty for the whole day off.")
    )
    ends = models.TimeField(_("until"), null=True, blank=True)
    note = models.CharField(
        _("note"), max_length=200, blank=True, help_text=_("For staff, e.g. “conference”.")
    )

    class Meta:
        verbose_name = _("time off or extra hours")
        verbose_name_plural = _("time off and extra hours")
        ordering = ["clinician", "date", "starts"]
        indexes = [models.Index(fields=["clinician", "date"], name="appt_exception_on_date")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(starts__isnull=True, ends__isnull=True) & Q(kind="time_off"))
                | Q(starts__isnull=False, ends__isnull=False, ends__gt=F("starts")),
                name="appt_exception_times",
                violation_error_message=_(
                    "Give a start and a later end, or leave both empty for a whole day off."
                ),
            ),
        ]

    def __str__(self):
        if self.starts is None:
            return f"{self.get_kind_display()} {self.date:%Y-%m-%d}"
        return f"{self.get_kind_display()} {self.date:%Y-%m-%d} {self.starts:%H:%M}–{self.ends:%H:%M}"

    @property
    def whole_day(self) -> bool:
        return self.starts is None

    def clean(self):
        if self.kind == self.Kind.EXTRA and (self.starts is None or self.ends is None):
            raise ValidationError(_("Extra hours need a start and an end."))
        if (self.starts is None) != (self.ends is None):
            raise ValidationError(_("Give both times, or neither for a whole day off."))
        if self.starts is not None and self.ends <= self.starts:
            raise ValidationError({"ends": _("The end must be after the start.")})
