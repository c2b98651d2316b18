"""A patient's consultation request: every answer, its reference, urgency, flags and status."""

import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core import signing
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Cast, Upper
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

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


# The columns staff search: contact details for everyone, free-text answers for clinicians.
SEARCHED_FIELDS = [
    "reference",
    "first_name",
    "last_name",
    "email",
    "phone",
    "current_medications",
    "medical_history_other",
    "treatments_other",
    "concern_other",
]

STATUS_LINK_SALT = "appointments.consultation-request.status-link"


def status_link_signer():
    return signing.TimestampSigner(salt=STATUS_LINK_SALT)


US_STATES = [
    ("AL", "Alabama"), ("AK", "Alaska"), ("AZ", "Arizona"), ("AR", "Arkansas"), ("CA", "California"),
    ("CO", "Colorado"), ("CT", "Connecticut"), ("DE", "Delaware"), ("DC", "District of Columbia"),
    ("FL", "Florida"), ("GA", "Georgia"), ("HI", "Hawaii"), ("ID", "Idaho"), ("IL", "Illinois"),
    ("IN", "Indiana"), ("IA", "Iowa"), ("KS", "Kansas"), ("KY", "Kentucky"), ("LA", "Louisiana"),
    ("ME", "Maine"), ("MD", "Maryland"), ("MA", "Massachusetts"), ("MI", "Michigan"), ("MN", "Minnesota"),
    ("MS", "Mississippi"), ("MO", "Missouri"), ("MT", "Montana"), ("NE", "Nebraska"), ("NV", "Nevada"),
    ("NH", "New Hampshire"), ("NJ", "New Jersey"), ("NM", "New Mexico"), ("NY", "New York"),
    ("NC", "North Carolina"), ("ND", "North Dakota"), ("OH", "Ohio"), ("OK", "Oklahoma"), ("OR", "Oregon"),
    ("PA", "Pennsylvania"), ("PR", "Puerto Rico"), ("RI", "Rhode Island"), ("SC", "South Carolina"),
    ("SD", "South Dakota"), ("TN", "Tennessee"), ("TX", "Texas"), ("UT", "Utah"), ("VT", "Vermont"),
    ("VA", "Virginia"), ("WA", "Washington"), ("WV", "West Virginia"), ("WI", "Wisconsin"),
    ("WY", "Wyoming"), ("XX", _("I live outside the US")),
]  # fmt: skip

# The nine PHQ-9 items, in the questionnaire's own order and wording.
PHQ9_ITEMS = [
    _("Little interest or pleasure in doing things"),
    _("Feeling down, depressed, or hopeless"),
    _("Trouble falling or staying asleep, or sleeping too much"),
    _("Feeling tired or having little energy"),
    _("Poor appetite or overeating"),
    _("Feeling bad about yourself — or that you are a failure or have let yourself or your family down"),
    _("Trouble concentrating on things, such as reading the newspaper or watching television"),
    _(
        "Moving or speaking so slowly that other people could have noticed? Or the opposite — being so "
        "fidgety or restless that you have been moving around a lot more than usual"
    ),
    _("Thoughts that you would be better off dead or of hurting yourself in some way"),
]
PHQ9_FIELDS = [f"phq9_{n}" for n in range(1, 10)]


class Phq9Answer(models.IntegerChoices):
    NOT_AT_ALL = 0, _("Not at all")
    SEVERAL_DAYS = 1, _("Several days")
    MORE_THAN_HALF = 2, _("More than half the days")
    NEARLY_EVERY_DAY = 3, _("Nearly every day")


def phq9_band(score):
    """The standard PHQ-9 severity band for a total score, for clinicians (never shown to patients)."""
    if score is None:
        return ""
    if score <= 4:
        return _("minimal")
    if score <= 9:
        return _("mild")
    if score <= 14:
        return _("moderate")
    if score <= 19:
        return _("moderately severe")
    return _("severe")


def _phq9_item(number):
    return models.PositiveSmallIntegerField(
        _("PHQ-9 item %(number)d") % {"number": number},
        choices=Phq9Answer.choices,
        null=True,
        blank=True,
    )


class ConsultationRequestQuerySet(models.QuerySet):
    def open(self):
        """Requests the clinic still has to act on."""
        return self.filter(status__in=ConsultationRequest.OPEN_STATUSES)

    def get_by_status_signature(self, signed):
        """The request a signed status link points to.

        Raises ``signing.SignatureExpired`` for a link older than ``CONSULTATION_STATUS_LINK_MAX_AGE``,
        ``signing.BadSignature`` for a forged one, and ``DoesNotExist`` for a purged request.
        """
        token = status_link_signer().unsign(signed, max_age=settings.CONSULTATION_STATUS_LINK_MAX_AGE)
        return self.get(confirmation_token=token)


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

    class ContactMethod(models.TextChoices):
        PHONE = "phone", _("Phone call")
        TEXT = "text", _("Text message")
        EMAIL = "email", _("E-mail")

    class ContactTime(models.TextChoices):
        MORNING = "morning", _("Weekday mornings (9am–12pm)")
        AFTERNOON = "afternoon", _("Weekday afternoons (12pm–5pm)")
        EVENING = "evening", _("Weekday evenings (5pm–7pm)")
        SATURDAY = "saturday", _("Saturdays")

    class Concern(models.TextChoices):
        BIPOLAR_DEPRESSION = "bipolar_depression", _("Bipolar depression")
        DEPRESSION = "depression", _("Depression")
        ANXIETY = "anxiety", _("Anxiety")
        PTSD = "ptsd", _("PTSD")
        OTHER = "other", _("Something else")

    class Episode(models.TextChoices):
        DEPRESSIVE = "depressive", _("Depressed")
        MANIC = "manic", _("Manic or hypomanic")
        MIXED = "mixed", _("Mixed (depressed and high or agitated at the same time)")
        STABLE = "stable", _("Stable")
        UNSURE = "unsure", _("I’m not sure")

    class AntidepressantTrials(models.TextChoices):
        NONE = "0", _("None")
        ONE = "1", _("One")
        TWO = "2", _("Two")
        THREE_OR_MORE = "3+", _("Three or more")
        UNSURE = "unsure", _("I’m not sure")

    class Modality(models.TextChoices):
        IN_PERSON = "in_person", _("In person, at the clinic")
        TELEHEALTH = "telehealth", _("Telehealth (video call)")
        EITHER = "either", _("Either is fine")

    class Treatment(models.TextChoices):
        IV = "iv", _("IV infusion")
        NASAL = "nasal", _("Nasal spray (esketamine)")
        UNDECIDED = "undecided", _("Undecided: I’d like advice")

    class Payment(models.TextChoices):
        INSURANCE = "insurance", _("Health insurance")
        SELF_PAY = "self_pay", _("Self-pay")
        UNSURE = "unsure", _("I’m not sure yet")

    class HeardAbout(models.TextChoices):
        SEARCH = "search", _("A web search")
        ARTICLE = "article", _("An article on this website")
        CLINICIAN = "clinician", _("My doctor, psychiatrist or therapist")
        FRIEND = "friend", _("A friend or family member")
        SOCIAL = "social", _("Social media")
        OTHER = "other", _("Somewhere else")

    class Flag(models.TextChoices):
        SELF_HARM = "self_harm", _("Current thoughts of self-harm")
        MANIA = "mania", _("Current manic, hypomanic or mixed episode")
        PSYCHOSIS = "psychosis", _("History of psychosis")
        CARDIOVASCULAR = "cardiovascular", _("High blood pressure, heart disease or stroke")
        PREGNANCY = "pregnancy", _("Pregnant or breastfeeding")
        SUBSTANCE_USE = "substance_use", _("Substance use")
        SEIZURES = "seizures", _("Seizures")
        LIVER = "liver", _("Liver disease")
        BLADDER = "bladder", _("Bladder or urinary problems")
        EYE_PRESSURE = "eye_pressure", _("Glaucoma or raised eye pressure")
        PHQ9_SEVERE = "phq9_severe", _("PHQ-9 score in the severe range (20 or more)")

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
    created_at = models.DateTimeField(_("received"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    closed_at = models.DateTimeField(
        _("closed"), null=True, blank=True, editable=False, help_text=_("When it left the open statuses.")
    )
    anonymised_at = models.DateTimeField(
        _("anonymised"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the retention period ended and the patient's details were removed."),
    )

    # Contact
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    email = models.EmailField(_("e-mail address"), max_length=254)
    phone = models.CharField(_("phone number"), max_length=20, help_text=_("In international format."))
    contact_method = models.CharField(
        _("preferred contact method"), max_length=8, choices=ContactMethod.choices
    )
    contact_times = ArrayField(
        models.CharField(max_length=12, choices=ContactTime.choices),
        verbose_name=_("good times to contact"),
        default=list,
        blank=True,
    )
    voicemail_ok = models.BooleanField(_("voicemail allowed"), default=False)
    text_ok = models.BooleanField(_("text messages allowed"), default=False)

    # About the patient
    date_of_birth = models.DateField(_("date of birth"))
    state = models.CharField(_("state of residence"), max_length=2, choices=US_STATES)

    # What they want help with
    concern = models.CharField(_("wants help with"), max_length=24, choices=Concern.choices)
    concern_other = models.CharField(_("something else (details)"), max_length=200, blank=True)
    episode = models.CharField(_("current episode"), max_length=12, choices=Episode.choices)

    # Treatments already tried
    antidepressant_trials = models.CharField(
        _("antidepressants tried"), max_length=8, choices=AntidepressantTrials.choices
    )
    tried_mood_stabilisers = models.BooleanField(_("mood stabilisers"), default=False)
    tried_therapy = models.BooleanField(_("talking therapy"), default=False)
    tried_ect_tms = models.BooleanField(_("ECT or TMS"), default=False)
    tried_ketamine = models.BooleanField(_("ketamine or esketamine before"), default=False)
    treatments_other = models.TextField(_("other treatments"), max_length=1000, blank=True)

    # Medications and medical history
    current_medications = models.TextField(_("current medications"), max_length=2000, blank=True)
    high_blood_pressure = models.BooleanField(_("high blood pressure"), default=False)
    heart_disease_or_stroke = models.BooleanField(_("heart disease or stroke"), default=False)
    psychosis_history = models.BooleanField(_("history of psychosis"), default=False)
    substance_use = models.BooleanField(_("alcohol or drug use"), default=False)
    seizures = models.BooleanField(_("seizures or epilepsy"), default=False)
    pregnant_or_breastfeeding = models.BooleanField(_("pregnant or breastfeeding"), default=False)
    liver_disease = models.BooleanField(_("liver disease"), default=False)
    bladder_problems = models.BooleanField(_("bladder or urinary problems"), default=False)
    raised_eye_pressure = models.BooleanField(_("glaucoma or raised eye pressure"), default=False)
    medical_history_other = models.TextField(_("other medical history"), max_length=1000, blank=True)

    # PHQ-9 (optional: all nine items or none) and the direct safety question
    phq9_1 = _phq9_item(1)
    phq9_2 = _phq9_item(2)
    phq9_3 = _phq9_item(3)
    phq9_4 = _phq9_item(4)
    phq9_5 = _phq9_item(5)
    phq9_6 = _phq9_item(6)
    phq9_7 = _phq9_item(7)
    phq9_8 = _phq9_item(8)
    phq9_9 = _phq9_item(9)
    phq9_score = models.GeneratedField(
        verbose_name=_("PHQ-9 score"),
        expression=F("phq9_1")
        + F("phq9_2")
        + F("phq9_3")
        + F("phq9_4")
        + F("phq9_5")
        + F("phq9_6")
        + F("phq9_7")
        + F("phq9_8")
        + F("phq9_9"),
        output_field=models.PositiveSmallIntegerField(null=True),
        db_persist=True,
    )
    self_harm_thoughts = models.BooleanField(_("current thoughts of self-harm"))

    # Preferences and payment
    modality = models.CharField(_("consultation"), max_length=12, choices=Modality.choices)
    treatment_preference = models.CharField(
        _("treatment preference"), max_length=12, choices=Treatment.choices
    )
    payment = models.CharField(_("payment"), max_length=12, choices=Payment.choices)
    insurance_carrier = models.CharField(_("insurance carrier"), max_length=100, blank=True)
    heard_about = models.CharField(
        _("heard about us from"), max_length=12, choices=HeardAbout.choices, blank=True
    )
    heard_about_other = models.CharField(_("heard about us (details)"), max_length=200, blank=True)

    # Consents, all required
    consent_privacy = models.BooleanField(_("read the privacy notice"))
    consent_contact = models.BooleanField(_("agreed to be contacted"))
    consent_not_emergency = models.BooleanField(_("understands this is not for emergencies"))

    objects = ConsultationRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("consultation request")
        verbose_name_plural = _("consultation requests")
        ordering = ["-is_urgent", "-created_at"]
        indexes = [
            # The staff list's order, with the primary key the admin adds to make it total.
            models.Index(fields=["-is_urgent", "-created_at", "-id"], name="appt_request_queue_idx"),
            models.Index(fields=["status", "-created_at"], name="appt_request_status_idx"),
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
        ]
        constraints = [
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__range": (0, 3)}),
                    name=f"appt_request_{name}_range",
                )
                for name in PHQ9_FIELDS
            ),
            models.CheckConstraint(
                condition=Q(**{f"{name}__isnull": True for name in PHQ9_FIELDS})
                | Q(**{f"{name}__isnull": False for name in PHQ9_FIELDS}),
                name="appt_request_phq9_all_or_none",
                violation_error_message=_("Answer all nine PHQ-9 questions, or none of them."),
            ),
            models.CheckConstraint(
                condition=Q(consent_privacy=True, consent_contact=True, consent_not_emergency=True),
                name="appt_request_consents_given",
                violation_error_message=_("All three consents are required."),
            ),
            models.CheckConstraint(
                condition=Q(is_urgent=True)
                | Q(self_harm_thoughts=False, phq9_9__isnull=True)
                | Q(self_harm_thoughts=False, phq9_9=0),
                name="appt_request_self_harm_is_urgent",
                violation_error_message=_("A request reporting thoughts of self-harm must be urgent."),
            ),
            models.CheckConstraint(
                condition=Q(reference__regex=r"^KC-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$"),
                name="appt_request_reference_format",
            ),
        ]

    def __str__(self):
        return f"{self.reference} ({self.created_at:%Y-%m-%d})" if self.created_at else self.reference

    def get_absolute_url(self):
        return reverse("appointments:request_received", kwargs={"token": self.confirmation_token})

    def clean(self):
        # The cross-field rules of the check constraints, with messages, so that full_clean()
        # can skip validating each constraint by a query of its own.
        errors = {}
        answered = [answer is not None for answer in self.phq9_answers]
        if any(answered) and not all(answered):
            errors[NON_FIELD_ERRORS] = [_("Answer all nine PHQ-9 questions, or none of them.")]
        for name in ["consent_privacy", "consent_contact", "consent_not_emergency"]:
            if getattr(self, name) is not True:
                errors[name] = [_("This consent is required.")]
        if (self.self_harm_thoughts or (self.phq9_9 or 0) > 0) and not self.is_urgent:
            errors["is_urgent"] = [_("A request reporting thoughts of self-harm must be urgent.")]
        if errors:
            raise ValidationError(errors)

    def get_status_url(self):
        """The patient's own page for this request, behind a signed, expiring link."""
        signed = status_link_signer().sign(self.confirmation_token)
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

    def get_flags_display(self):
        labels = dict(self.Flag.choices)
        return [labels.get(code, code) for code in self.flags]
