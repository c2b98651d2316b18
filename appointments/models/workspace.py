"""What staff add to a request: notes, the status history, and the consultation appointment."""

import datetime
import uuid

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .booking import Clinician, ConsultationKind
from .requests import ConsultationRequest


class StatusChange(models.Model):
    """One move of a request's status: from, to, who and when. Written only by the status service."""

    class Source(models.TextChoices):
        STAFF = "staff", _("Staff")
        PATIENT = "patient", _("The patient, from the status link")

    consultation_request = models.ForeignKey(
        ConsultationRequest,
        verbose_name=_("consultation request"),
        related_name="status_changes",
        on_delete=models.CASCADE,
    )
    from_status = models.CharField(_("from"), max_length=24, choices=ConsultationRequest.Status.choices)
    to_status = models.CharField(_("to"), max_length=24, choices=ConsultationRequest.Status.choices)
    source = models.CharField(_("by"), max_length=8, choices=Source.choices, default=Source.STAFF)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff member"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"


class StaffNote(models.Model):
    """A timestamped note in a request's thread. Notes are only ever added, never edited."""

    consultation_request = models.ForeignKey(
        ConsultationRequest,
        verbose_name=_("consultation request"),
        related_name="notes",
        on_delete=models.CASCADE,
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
    )
    text = models.TextField(_("note"), max_length=4000)
    clinicians_only = models.BooleanField(
        _("clinicians only"),
        default=False,
        help_text=_("Clinical detail: hidden from staff who may not see screening answers."),
    )
    created_at = models.DateTimeField(_("written"), auto_now_add=True)

    class Meta:
        verbose_name = _("staff note")
        verbose_name_plural = _("staff notes")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"note {self.pk}"


class CallAttempt(models.Model):
    """One time the clinic tried to reach the patient, and what came of it."""

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached them")
        VOICEMAIL = "voicemail", _("Left a voicemail")
        NO_ANSWER = "no_answer", _("No answer")

    consultation_request = models.ForeignKey(
        ConsultationRequest,
        verbose_name=_("consultation request"),
        related_name="call_attempts",
        on_delete=models.CASCADE,
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff member"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("call attempt")
        verbose_name_plural = _("call attempts")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"call {self.pk}"


class ClinicalDecision(models.Model):
    """A clinician's decision on a request. The latest one stands; earlier ones stay as history.

    The front desk sees the outcome only; the reason and the details are for clinicians.
    """

    class Outcome(models.TextChoices):
        SUITABLE = "suitable", _("Suitable to proceed")
        MORE_INFORMATION = "more_information", _("Needs more information")
        NOT_SUITABLE = "not_suitable", _("Not suitable")
        REFER_ELSEWHERE = "refer_elsewhere", _("Refer elsewhere")

    class Reason(models.TextChoices):
        MEDICAL = "medical", _("A medical condition that rules ketamine out")
        MEDICINES = "medicines", _("Medicines that cannot be paused or combined")
        PSYCHIATRIC = "psychiatric", _("Current mania, psychosis or a level of risk we cannot manage here")
        SUBSTANCE_USE = "substance_use", _("Substance use")
        OUTSIDE_SCOPE = "outside_scope", _("Outside what the clinic treats (age, state, condition)")
        OTHER = "other", _("Another reason (in the details)")

    consultation_request = models.ForeignKey(
        ConsultationRequest,
        verbose_name=_("consultation request"),
        related_name="decisions",
        on_delete=models.CASCADE,
    )
    outcome = models.CharField(_("decision"), max_length=20, choices=Outcome.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True)
    details = models.TextField(_("details"), max_length=2000, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("clinician"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("clinical decision")
        verbose_name_plural = _("clinical decisions")
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome="not_suitable", reason__gt="") | ~Q(outcome="not_suitable"),
                name="appt_decision_not_suitable_has_reason",
                violation_error_message=_("Choose the reason it is not suitable."),
            ),
        ]

    def __str__(self):
        return f"decision {self.pk}"

    def clean(self):
        if self.outcome == self.Outcome.NOT_SUITABLE and not self.reason:
            raise ValidationError({"reason": _("Choose the reason it is not suitable.")})
        if self.outcome != self.Outcome.NOT_SUITABLE:
            self.reason = ""


def new_calendar_uid():
    """A globally unique calendar event id, on the clinic's mail domain as RFC 5545 suggests."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "clinic.invalid"
    return f"{uuid.uuid4()}@{domain}"


class Appointment(models.Model):
    """A booked consultation, sent to the patient as a calendar event.

    The time is stored in UTC and entered and shown in the clinic's time zone. A change sends
    the patient an update to the same event: the same ``uid``, the next ``sequence``.

    An appointment with a clinician keeps them busy for ``blocked``: the consultation and its
    buffers, as a half-open ``[)`` range. PostgreSQL refuses two booked appointments of one
    clinician whose ranges overlap (an exclusion constraint), so back-to-back is allowed and a
    double booking is impossible whatever the code does.
    """

    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CANCELLED = "cancelled", _("Cancelled")

    class Modality(models.TextChoices):
        IN_PERSON = "in_person", _("In person, at the clinic")
        TELEHEALTH = "telehealth", _("Telehealth (video call)")

    consultation_request = models.ForeignKey(
        ConsultationRequest,
        verbose_name=_("consultation request"),
        related_name="appointments",
        on_delete=models.CASCADE,
    )
    uid = models.CharField(
        _("calendar UID"), max_length=100, unique=True, default=new_calendar_uid, editable=False
    )
    sequence = models.PositiveIntegerField(
        _("calendar sequence"), default=0, help_text=_("Goes up by one with each update sent to the patient.")
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.BOOKED)
    starts_at = models.DateTimeField(_("starts"))
    duration_minutes = models.PositiveSmallIntegerField(
        _("length (minutes)"), default=60, validators=[MinValueValidator(10), MaxValueValidator(240)]
    )
    modality = models.CharField(_("how"), max_length=12, choices=Modality.choices)
    location = models.CharField(_("location"), max_length=300, blank=True)
    clinician = models.ForeignKey(
        Clinician,
        verbose_name=_("clinician"),
        related_name="appointments",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    kind = models.ForeignKey(
        ConsultationKind,
        verbose_name=_("consultation kind"),
        related_name="appointments",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    buffer_before_minutes = models.PositiveSmallIntegerField(_("buffer before (minutes)"), default=0)
    buffer_after_minutes = models.PositiveSmallIntegerField(_("buffer after (minutes)"), default=0)
    blocked = DateTimeRangeField(
        _("keeps the clinician busy"),
        blank=True,
        editable=False,
        help_text=_("The consultation with its buffers; derived from the start, length and buffers."),
    )
    telehealth_instructions = models.TextField(
        _("telehealth instructions"),
        max_length=1000,
        blank=True,
        help_text=_("The video link and how to join. The patient receives this in the invitation."),
    )
    outside_hours_approved = models.BooleanField(
        _("booked outside the clinician's hours"),
        default=False,
        # In the table too: rows written outside Django (the race tests, a restore) need no value.
        db_default=False,
        help_text=_(
            "A clinic admin booked this time outside the clinician's hours on purpose, so it is not "
            "listed among the appointments to move."
        ),
    )
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("scheduled by"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["-starts_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultation_request"],
                condition=Q(status="booked"),
                name="appt_one_booked_per_request",
                violation_error_message=_("This request already has a booked appointment."),
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__range=(10, 240)), name="appt_appointment_duration_range"
            ),
            models.CheckConstraint(
                condition=Q(
                    blocked__lower_inc=True,
                    blocked__upper_inc=False,
                    blocked__startswith__lte=models.F("starts_at"),
                ),
                name="appt_appointment_blocked_half_open",
            ),
            ExclusionConstraint(
                name="appt_no_overlap_per_clinician",
                expressions=[("clinician", RangeOperators.EQUAL), ("blocked", RangeOperators.OVERLAPS)],
                condition=Q(status="booked", clinician__isnull=False),
                violation_error_message=_("The clinician already has an appointment at that time."),
            ),
        ]
        indexes = [
            models.Index(fields=["clinician", "starts_at"], name="appt_clinician_starts_at"),
        ]

    def __str__(self):
        return f"appointment {self.pk} ({self.starts_at:%Y-%m-%d})" if self.starts_at else "appointment"

    def save(self, *args, **kwargs):
        self.blocked = self.blocked_range()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "blocked"}
        super().save(*args, **kwargs)

    def clean(self):
        if self.starts_at is not None and self.duration_minutes is not None:
            self.blocked = self.blocked_range()
        if self.modality == self.Modality.IN_PERSON and not self.location.strip():
            raise ValidationError({"location": _("Enter where the consultation takes place.")})
        if self.modality == self.Modality.TELEHEALTH and not self.telehealth_instructions.strip():
            raise ValidationError(
                {"telehealth_instructions": _("Enter the video link and how to join, for the patient.")}
            )

    @property
    def ends_at(self):
        return self.starts_at + datetime.timedelta(minutes=self.duration_minutes)

    PAST_START_MESSAGE = _("Choose a date and time in the future.")

    @staticmethod
    def start_is_past(starts_at, *, booked_starts_at=None):
        """A new or moved consultation must start in the future; one left at its booked time need not."""
        moved = booked_starts_at is None or starts_at != booked_starts_at
        return moved and starts_at <= timezone.now()

    def patient_change_deadline(self) -> datetime.datetime:
        """Until when the patient may move or cancel this consultation online."""
        return self.starts_at - datetime.timedelta(hours=settings.APPOINTMENT_PATIENT_CHANGE_CUTOFF_HOURS)

    def patient_may_change(self, *, now: datetime.datetime) -> bool:
        return self.status == self.Status.BOOKED and now < self.patient_change_deadline()

    def blocked_range(self) -> DateTimeTZRange:
        """The time this appointment keeps its clinician from other bookings: ``[start - buffer, end + buffer)``."""
        return DateTimeTZRange(
            self.starts_at - datetime.timedelta(minutes=self.buffer_before_minutes),
            self.ends_at + datetime.timedelta(minutes=self.buffer_after_minutes),
            "[)",
        )
