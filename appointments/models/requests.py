"""A patient's consultation request: every answer, its reference, urgency, flags and status."""

import datetime
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Cast, Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from .. import questionnaire
from ..questionnaire import PHQ9_FIELDS, phq9_band

# No 0/O, 1/I/L: a reference read out over the phone cannot be misheard or mistyped.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_PREFIX = "KC"


def new_reference():
    """A fresh reference such as ``KC-7F3Q-9MXD`` (about 40 bits of randomness)."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{REFERENCE_PREFIX}-{chars[:4]}-{chars[4:]}"


def new_token():
    """A long random token for URLs and one-time form submission."""
    return secrets.token_urlsafe(32)


# The columns staff search: the reference, and the answers the questionnaire marks as searched.
SEARCHED_FIELDS = ["reference", *questionnaire.SEARCHED_FIELDS]
# The consents given on the booking's first step, before any health answer, and those given at Send,
# which an unfinished request has not reached.
FIRST_STEP_CONSENTS = [
    question.name
    for section in questionnaire.sections(stage=questionnaire.BOOKING)[:1]
    for question in section.questions
    if question.kind == questionnaire.Kind.CONSENT
]
SEND_CONSENTS = [name for name in questionnaire.CONSENT_FIELDS if name not in FIRST_STEP_CONSENTS]

STATUS_LINK_SALT = "appointments.consultation-request.status-link"
# The intake's link: a salt of its own, so that a status link cannot open the intake or the reverse.
INTAKE_LINK_SALT = "appointments.consultation-request.intake-link"


def status_link_signer():
    return signing.TimestampSigner(salt=STATUS_LINK_SALT)


def intake_link_signer():
    return signing.TimestampSigner(salt=INTAKE_LINK_SALT)


@dataclass(frozen=True)
class OpenedLink:
    """A patient's link that opened: its request, and when the link stops working.

    ``expires_at`` is what a link made from this one carries (``not_after``), so that no link
    shown on a page reached by a link outlives the link it was reached by."""

    consultation_request: "ConsultationRequest"
    expires_at: datetime.datetime


def _unsign_link(signer, signed, max_age):
    """The value a patient's link signs, and when the link expires: its own age limit, or sooner
    when it was made from another link and carries that link's end (``value.<b62 expiry>``).

    Raises ``signing.SignatureExpired`` once either has passed, ``signing.BadSignature`` for a
    forged link."""
    value = signer.unsign(signed, max_age=max_age)
    # Checked by the signature above: the second the link was signed.
    issued = signing.b62_decode(signed.rsplit(signer.sep, 2)[-2])
    expires = issued + max_age
    reference, dot, rest = value.partition(".")
    digest, dot_, ends = rest.partition(".")
    if dot and dot_:
        try:
            carried = signing.b62_decode(ends)
        except ValueError:
            raise signing.BadSignature("Not a link's expiry") from None
        expires = min(expires, carried)
        value = f"{reference}.{digest}"
    if time.time() > expires:
        raise signing.SignatureExpired("The link it was made from has expired")
    return value, datetime.datetime.fromtimestamp(expires, tz=datetime.UTC)


def _sign_link(signer, value, max_age, not_after):
    """A signed link to ``value`` that works ``max_age`` seconds, or only until ``not_after`` (the
    end of the link it is made from) when that comes first."""
    if not_after is not None and not_after.timestamp() < time.time() + max_age:
        value = f"{value}.{signing.b62_encode(int(not_after.timestamp()))}"
    return signer.sign(value)


def status_link_digest(confirmation_token):
    """Ties a status link to the request's current confirmation token without revealing it: the
    retention command's new token voids every link sent before."""
    return salted_hmac(STATUS_LINK_SALT, confirmation_token).hexdigest()[:24]


class IntakeState(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    STARTED = "started", _("Started")
    COMPLETE = "complete", _("Complete")


class ConsultationRequestQuerySet(models.QuerySet):
    def open(self):
        """Requests the clinic still has to act on."""
        return self.filter(status__in=ConsultationRequest.OPEN_STATUSES)

    def with_intake_state(self, state):
        """Requests whose clinical intake is in ``state`` (an ``IntakeState``)."""
        match state:
            case IntakeState.COMPLETE:
                return self.filter(intake_completed_at__isnull=False)
            case IntakeState.STARTED:
                return self.filter(intake_started_at__isnull=False, intake_completed_at__isnull=True)
            case IntakeState.NOT_STARTED:
                return self.filter(intake_started_at__isnull=True, intake_completed_at__isnull=True)
        return self

    def overdue(self, *, now):
        """New requests past their first-contact deadline."""
        return self.filter(status=ConsultationRequest.Status.NEW, respond_by__lt=now)

    def needing_attention(self, *, now):
        """New requests that are urgent or overdue: what the on-call staff hear about."""
        return self.filter(status=ConsultationRequest.Status.NEW).filter(
            Q(is_urgent=True) | Q(respond_by__lt=now)
        )

    def get_by_intake_signature(self, signed):
        """The request a signed intake link points to (``open_intake_link``'s request)."""
        return self.open_intake_link(signed).consultation_request

    def get_by_status_signature(self, signed):
        """The request a signed status link points to (``open_status_link``'s request)."""
        return self.open_status_link(signed).consultation_request

    def open_intake_link(self, signed):
        """The request a signed intake link points to, and when the link expires (``OpenedLink``).

        Raises ``signing.SignatureExpired`` for a link older than ``CONSULTATION_INTAKE_LINK_MAX_AGE``
        or past the end of the link it was made from, ``signing.BadSignature`` for a forged one (or
        a status link), and ``DoesNotExist`` for a purged request or one whose token the retention
        command has replaced.
        """
        value, expires_at = _unsign_link(
            intake_link_signer(), signed, settings.CONSULTATION_INTAKE_LINK_MAX_AGE
        )
        return OpenedLink(self._get_by_link_value(value, anonymised_at__isnull=True), expires_at)

    def open_status_link(self, signed):
        """The request a signed status link points to, and when the link expires (``OpenedLink``).

        Raises ``signing.SignatureExpired`` for a link older than ``CONSULTATION_STATUS_LINK_MAX_AGE``
        or past the end of the link it was made from, ``signing.BadSignature`` for a forged one, and
        ``DoesNotExist`` for a purged request.
        """
        value, expires_at = _unsign_link(
            status_link_signer(), signed, settings.CONSULTATION_STATUS_LINK_MAX_AGE
        )
        if "." not in value:
            # A link sent before status links named the reference: it signed the confirmation token.
            return OpenedLink(self.get(confirmation_token=value), expires_at)
        return OpenedLink(self._get_by_link_value(value), expires_at)

    def _get_by_link_value(self, value, **filters):
        """The request a link's signed value names (``ConsultationRequest.link_value``), while its
        confirmation token is the one the link was made with."""
        reference, _dot, digest = value.partition(".")
        consultation_request = self.get(reference=reference, **filters)
        if not constant_time_compare(digest, status_link_digest(consultation_request.confirmation_token)):
            raise self.model.DoesNotExist
        return consultation_request


class ConsultationRequest(models.Model):
    """A patient's request for a first consultation, with the screening answers a clinician reads."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        CONTACTED = "contacted", _("Contacted")
        SCHEDULED = "scheduled", _("Scheduled")
        COMPLETED = "completed", _("Completed")
        DECLINED = "declined", _("Declined")
        CANCELLED_BY_PATIENT = "cancelled_by_patient", _("Cancelled by the patient")
        CANCELLED_BY_STAFF = "cancelled_by_staff", _("Cancelled by staff")
        SPAM = "spam", _("Spam")

    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        SPANISH = "es", _("Spanish")

    # The questionnaire's choices, by their names on the model.
    ContactMethod = questionnaire.ContactMethod
    ContactTime = questionnaire.ContactTime
    Concern = questionnaire.Concern
    Episode = questionnaire.Episode
    AntidepressantTrials = questionnaire.AntidepressantTrials
    Modality = questionnaire.Modality
    Treatment = questionnaire.Treatment
    Payment = questionnaire.Payment
    HeardAbout = questionnaire.HeardAbout
    Flag = questionnaire.Flag

    # The status moves staff and patients may make, defined once for every path that changes status.
    ALLOWED_TRANSITIONS = {
        Status.NEW: {
            Status.CONTACTED,
            Status.SCHEDULED,
            Status.DECLINED,
            Status.CANCELLED_BY_PATIENT,
            Status.CANCELLED_BY_STAFF,
            Status.SPAM,
        },
        Status.CONTACTED: {
            Status.SCHEDULED,
            Status.DECLINED,
            Status.CANCELLED_BY_PATIENT,
            Status.CANCELLED_BY_STAFF,
        },
        Status.SCHEDULED: {
            Status.COMPLETED,
            Status.CONTACTED,
            Status.CANCELLED_BY_PATIENT,
            Status.CANCELLED_BY_STAFF,
        },
        Status.COMPLETED: set(),
        Status.DECLINED: set(),
        Status.CANCELLED_BY_PATIENT: set(),
        Status.CANCELLED_BY_STAFF: set(),
        Status.SPAM: {Status.NEW},
    }
    OPEN_STATUSES = {Status.NEW, Status.CONTACTED, Status.SCHEDULED}

    # Identity and workflow
    reference = models.CharField(_("reference"), max_length=12, unique=True, editable=False)
    confirmation_token = models.CharField(
        _("confirmation token"), max_length=64, unique=True, editable=False, default=new_token
    )
    form_token = models.CharField(
        _("form token"),
        max_length=64,
        unique=True,
        editable=False,
        help_text=_("The one-time token of the form that created this request; a resubmit finds it."),
    )
    status = models.CharField(_("status"), max_length=24, choices=Status.choices, default=Status.NEW)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        related_name="assigned_consultation_requests",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    is_urgent = models.BooleanField(
        _("urgent"),
        default=False,
        help_text=_("Current thoughts of self-harm: the direct question, or PHQ-9 item 9 above zero."),
    )
    flags = ArrayField(
        models.CharField(max_length=24, choices=Flag.choices),
        verbose_name=_("clinician flags"),
        default=list,
        blank=True,
    )
    source_article_slug = models.SlugField(_("came from article"), max_length=200, blank=True, db_index=False)
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=Language.choices,
        default=Language.ENGLISH,
        help_text=_("The language of the pages the request was sent from: the patient's e-mails are in it."),
    )
    is_unfinished = models.BooleanField(
        _("unfinished"),
        default=False,
        help_text=_(
            "A booking left before Send that reported thoughts of self-harm: it reached staff with the "
            "answers given so far."
        ),
    )
    created_at = models.DateTimeField(_("received"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    respond_by = models.DateTimeField(
        _("first contact due"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("The response target, on the clinic’s opening hours; a new request past it is overdue."),
    )
    attention_alerted_at = models.DateTimeField(
        _("on-call alert sent"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the on-call staff were last told this request needs attention."),
    )
    closed_at = models.DateTimeField(
        _("closed"), null=True, blank=True, editable=False, help_text=_("When it left the open statuses.")
    )
    intake_started_at = models.DateTimeField(
        _("intake started"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the patient saved the first page of the clinical intake."),
    )
    intake_completed_at = models.DateTimeField(
        _("intake completed"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the patient reached the end of the clinical intake."),
    )
    anonymised_at = models.DateTimeField(
        _("anonymised"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the retention period ended and the patient's details were removed."),
    )

    # The answers' columns come from the questionnaire (added below the class), and the PHQ-9
    # score from the same rule as the questionnaire's.
    phq9_score = models.GeneratedField(
        verbose_name=_("PHQ-9 score"),
        expression=questionnaire.phq9_score_expression(),
        output_field=models.PositiveSmallIntegerField(null=True),
        db_persist=True,
    )

    objects = ConsultationRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("consultation request")
        verbose_name_plural = _("consultation requests")
        ordering = ["-is_urgent", "-created_at"]
        indexes = [
            # The staff list's order, with the primary key the admin adds to make it total.
            models.Index(fields=["-is_urgent", "-created_at", "-id"], name="appt_request_queue_idx"),
            models.Index(fields=["status", "-created_at"], name="appt_request_status_idx"),
            # Overdue and needing attention: new requests by their deadline.
            models.Index(
                fields=["respond_by"], condition=Q(status="new"), name="appt_request_respond_by_idx"
            ),
            # The dashboard's requests per day and the list's date filters.
            models.Index(fields=["created_at"], name="appt_request_created_idx"),
            # The staff search (the admin's icontains: UPPER(column::text) LIKE '%term%').
            *(
                GinIndex(
                    OpClass(Upper(Cast(name, output_field=models.TextField())), name="gin_trgm_ops"),
                    name=f"appt_request_{name[:12]}_trgm",
                )
                for name in SEARCHED_FIELDS
            ),
        ]
        permissions = [
            ("view_screening_answers", _("Can see screening answers, the PHQ-9 and clinician flags")),
            ("export_consultationrequest", _("Can export consultation requests as CSV")),
            ("record_clinical_decision", _("Can record a clinician’s decision on a request")),
        ]
        constraints = [
            *questionnaire.phq9_constraints(),
            *questionnaire.number_constraints(),
            models.CheckConstraint(
                condition=Q(**dict.fromkeys(FIRST_STEP_CONSENTS, True))
                & (Q(**dict.fromkeys(SEND_CONSENTS, True)) | Q(is_unfinished=True)),
                name="appt_request_consents_given",
                violation_error_message=_("All three consents are required."),
            ),
            models.CheckConstraint(
                condition=Q(is_urgent=True) | questionnaire.NO_SELF_HARM,
                name="appt_request_self_harm_is_urgent",
                violation_error_message=_("A request reporting thoughts of self-harm must be urgent."),
            ),
            models.CheckConstraint(
                condition=Q(reference__regex=r"^KC-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$"),
                name="appt_request_reference_format",
            ),
        ]

    def __str__(self):
        # The clinic's date: a request sent late in the evening is that evening's, not tomorrow's in UTC.
        if not self.created_at:
            return self.reference
        return f"{self.reference} ({timezone.localdate(self.created_at):%Y-%m-%d})"

    def get_absolute_url(self):
        return reverse("appointments:request_received", kwargs={"token": self.confirmation_token})

    def clean(self):
        # The cross-field rules of the check constraints, with messages, so that full_clean()
        # can skip validating each constraint by a query of its own.
        errors = {}
        for name in questionnaire.CONSENT_FIELDS:
            if getattr(self, name) is not True and not (self.is_unfinished and name in SEND_CONSENTS):
                errors[name] = [_("This consent is required.")]
        if self.reports_self_harm() and not self.is_urgent:
            errors["is_urgent"] = [_("A request reporting thoughts of self-harm must be urgent.")]
        if errors:
            raise ValidationError(errors)

    @property
    def language_code(self):
        """The language to render the patient's e-mails and links in (``translation.override``).

        English is the site's own code, under which the patient's links have no language prefix.
        """
        return settings.LANGUAGE_CODE if self.language == self.Language.ENGLISH else self.language

    @property
    def link_value(self):
        """What the patient's links sign: the reference, and a digest of the confirmation token."""
        return f"{self.reference}.{status_link_digest(self.confirmation_token)}"

    def get_intake_url(self, *, not_after=None):
        """The patient's clinical intake, behind a signed, expiring link of its own.

        ``not_after``: the end of the link the page showing this one was reached by (``OpenedLink``);
        the new link expires then at the latest, so that links made from links never renew them.
        """
        signed = _sign_link(
            intake_link_signer(), self.link_value, settings.CONSULTATION_INTAKE_LINK_MAX_AGE, not_after
        )
        return reverse("appointments:intake_start", kwargs={"signed": signed})

    def get_status_url(self, *, not_after=None):
        """The patient's own page for this request, behind a signed, expiring link (``not_after``: as
        for ``get_intake_url``)."""
        signed = _sign_link(
            status_link_signer(), self.link_value, settings.CONSULTATION_STATUS_LINK_MAX_AGE, not_after
        )
        return reverse("appointments:request_status", kwargs={"signed": signed})

    @property
    def is_open(self):
        return self.status in self.OPEN_STATUSES

    def can_move_to(self, status):
        return status in self.ALLOWED_TRANSITIONS.get(self.status, set())

    @property
    def phq9_answers(self):
        return [getattr(self, name) for name in PHQ9_FIELDS]

    @property
    def phq9_band(self):
        return phq9_band(self.phq9_score)

    @property
    def phq9_answered(self):
        return questionnaire.phq9_answered(self.phq9_answers)

    def mdq_result(self):
        return questionnaire.mdq_result_of({name: getattr(self, name) for name in questionnaire.MDQ_COLUMNS})

    @property
    def intake_state(self):
        """Where the clinical intake stands: not started, started, or complete."""
        if self.intake_completed_at:
            return IntakeState.COMPLETE
        if self.intake_started_at:
            return IntakeState.STARTED
        return IntakeState.NOT_STARTED

    def get_intake_state_display(self):
        return IntakeState(self.intake_state).label

    def reports_self_harm(self):
        return questionnaire.reports_self_harm(self_harm_thoughts=self.self_harm_thoughts, phq9_9=self.phq9_9)

    def is_overdue(self, *, now):
        return self.status == self.Status.NEW and self.respond_by is not None and self.respond_by < now

    def urgent_reasons(self):
        return questionnaire.urgent_reasons(self_harm_thoughts=self.self_harm_thoughts, phq9_9=self.phq9_9)

    def answer_flags(self):
        """The clinician flags the answers raise, in a stable order."""
        return questionnaire.answer_flags(
            {name: getattr(self, name) for name in questionnaire.answer_columns()}
        )

    def get_flags_display(self):
        labels = dict(self.Flag.choices)
        return [labels.get(code, code) for code in self.flags]


for _name, _field in questionnaire.model_fields():
    ConsultationRequest.add_to_class(_name, _field)
