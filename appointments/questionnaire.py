"""The consultation request's questionnaire, defined once.

Every question a patient is asked: its section, label, help text, kind, choices, whether it is
required, who on the staff may read the answer, whether the answer is free text, and the clinician
flags it raises. The model's answer columns, the patient's form, the staff page and list, the CSV
export, the staff search, retention and the tests all read this module, so adding a question means
a line here, a migration and a test.

The rules that several layers enforce are here too, as plain functions beside the questions:
urgency, the PHQ-9 score and its completeness. The database's check constraints are built from
the same definitions (``phq9_constraints``, ``NO_SELF_HARM``).
"""

import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

# Who may read an answer: every staff member who sees requests, or only those with the
# ``view_screening_answers`` permission (clinicians and clinic admins).
CONTACT = "contact"
SCREENING = "screening"

# When a question is asked: while booking (a few short steps, before anything reaches staff), or in
# the clinical intake that follows, reached from the confirmation page, the e-mail and the status page.
BOOKING = "booking"
INTAKE = "intake"


# --- Choices --------------------------------------------------------------------------------


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


class Diagnosis(models.TextChoices):
    BIPOLAR_I = "bipolar_1", _("Bipolar I")
    BIPOLAR_II = "bipolar_2", _("Bipolar II")
    OTHER_BIPOLAR = "bipolar_other", _("Another bipolar diagnosis, or cyclothymia")
    DEPRESSION = "depression", _("Depression")
    OTHER = "other", _("Something else")
    NONE = "unsure", _("I’m not sure, or I have no diagnosis")


class MdqProblem(models.TextChoices):
    NONE = "none", _("No problem")
    MINOR = "minor", _("Minor problem")
    MODERATE = "moderate", _("Moderate problem")
    SERIOUS = "serious", _("Serious problem")


class Phq9Answer(models.IntegerChoices):
    NOT_AT_ALL = 0, _("Not at all")
    SEVERAL_DAYS = 1, _("Several days")
    MORE_THAN_HALF = 2, _("More than half the days")
    NEARLY_EVERY_DAY = 3, _("Nearly every day")


class Flag(models.TextChoices):
    """What a clinician should notice before the consultation; never shown to the patient."""

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
    BLOOD_PRESSURE_HIGH = "blood_pressure_high", _("Recent blood pressure 160/100 or above")
    MDQ_POSITIVE = "mdq_positive", _("MDQ positive screen for bipolar disorder")
    # Medicines that change ketamine's effect or safety, found in the current medicines' answer.
    BENZODIAZEPINES = "benzodiazepines", _("Takes a benzodiazepine (may blunt ketamine’s effect)")
    MAOI = "maoi", _("Takes an MAO inhibitor (blood pressure risk with ketamine)")
    LAMOTRIGINE = "lamotrigine", _("Takes lamotrigine (may blunt ketamine’s effect)")
    STIMULANTS = "stimulants", _("Takes a stimulant (blood pressure and heart rate risk)")
    OPIOIDS = "opioids", _("Takes an opioid (breathing and sedation risk)")


# Short names for the staff list's flag column; the request's page shows the full ones.
FLAG_SHORT = {
    Flag.SELF_HARM: _("Self-harm"),
    Flag.MANIA: _("Mania"),
    Flag.PSYCHOSIS: _("Psychosis"),
    Flag.CARDIOVASCULAR: _("Heart / BP"),
    Flag.PREGNANCY: _("Pregnancy"),
    Flag.SUBSTANCE_USE: _("Substances"),
    Flag.SEIZURES: _("Seizures"),
    Flag.LIVER: _("Liver"),
    Flag.BLADDER: _("Bladder"),
    Flag.EYE_PRESSURE: _("Eye pressure"),
    Flag.PHQ9_SEVERE: _("PHQ-9 severe"),
    Flag.BLOOD_PRESSURE_HIGH: _("BP high"),
    Flag.MDQ_POSITIVE: _("MDQ +"),
    Flag.BENZODIAZEPINES: _("Benzodiazepine"),
    Flag.MAOI: _("MAOI"),
    Flag.LAMOTRIGINE: _("Lamotrigine"),
    Flag.STIMULANTS: _("Stimulant"),
    Flag.OPIOIDS: _("Opioid"),
}

# The medicines that raise a flag when a patient names them, by generic and common US brand
# names, lower case. ``mentioned_flags`` matches them whatever the case, and forgives a slip of
# a letter or two in the longer names.
MEDICINES = {
    Flag.BENZODIAZEPINES: [
        "alprazolam", "xanax", "lorazepam", "ativan", "clonazepam", "klonopin", "diazepam", "valium",
        "temazepam", "restoril", "chlordiazepoxide", "librium", "oxazepam", "clorazepate", "tranxene",
        "triazolam", "halcion", "midazolam", "benzodiazepine", "benzo", "benzos",
    ],
    Flag.MAOI: [
        "phenelzine", "nardil", "tranylcypromine", "parnate", "isocarboxazid", "marplan", "selegiline",
        "emsam", "zelapar", "rasagiline", "azilect", "maoi", "maois",
    ],
    Flag.LAMOTRIGINE: ["lamotrigine", "lamictal", "subvenite"],
    Flag.STIMULANTS: [
        "amphetamine", "dextroamphetamine", "adderall", "lisdexamfetamine", "vyvanse",
        "methylphenidate", "ritalin", "concerta", "focalin", "dexmethylphenidate", "modafinil",
        "provigil", "armodafinil", "nuvigil", "methamphetamine", "desoxyn", "dexedrine",
    ],
    Flag.OPIOIDS: [
        "oxycodone", "oxycontin", "percocet", "hydrocodone", "vicodin", "norco", "morphine",
        "codeine", "tramadol", "ultram", "fentanyl", "methadone", "buprenorphine", "suboxone",
        "subutex", "hydromorphone", "dilaudid", "tapentadol", "nucynta", "oxymorphone", "opioid",
        "opioids", "opiate", "opiates",
    ],
}  # fmt: skip
# Names one letter away from an everyday word ("concert"), matched only as written.
EXACT_ONLY = {"concerta", "benzo", "norco", "ultram"}

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
PHQ9_MAX = 27
PHQ9_SEVERE_FROM = 20

# The Mood Disorder Questionnaire (Hirschfeld et al., Am J Psychiatry 2000;157:1873-5), in its own
# words: thirteen yes/no items after one stem, then two questions about them.
MDQ_STEM = _("Has there ever been a period of time when you were not your usual self and…")
MDQ_ITEMS = [
    _(
        "…you felt so good or so hyper that other people thought you were not your normal self, or you "
        "were so hyper that you got into trouble?"
    ),
    _("…you were so irritable that you shouted at people or started fights or arguments?"),
    _("…you felt much more self-confident than usual?"),
    _("…you got much less sleep than usual and found you didn’t really miss it?"),
    _("…you were much more talkative or spoke much faster than usual?"),
    _("…thoughts raced through your head or you couldn’t slow your mind down?"),
    _(
        "…you were so easily distracted by things around you that you had trouble concentrating or "
        "staying on track?"
    ),
    _("…you had much more energy than usual?"),
    _("…you were much more active or did many more things than usual?"),
    _(
        "…you were much more social or outgoing than usual, for example, you telephoned friends in the "
        "middle of the night?"
    ),
    _("…you were much more interested in sex than usual?"),
    _(
        "…you did things that were unusual for you or that other people might have thought were "
        "excessive, foolish, or risky?"
    ),
    _("…spending money got you or your family into trouble?"),
]
MDQ_FIELDS = [f"mdq_{n}" for n in range(1, 14)]
MDQ_COLUMNS = [*MDQ_FIELDS, "mdq_same_period", "mdq_problem"]
# A positive screen, as published: at least this many yes, AND several at the same time, AND a
# moderate or serious problem.
MDQ_POSITIVE_FROM = 7
MDQ_PROBLEM_ENOUGH = {MdqProblem.MODERATE, MdqProblem.SERIOUS}

# A recent blood pressure a clinician should look at before ketamine, which raises it further for
# about an hour. 160/100 is the threshold of stage 2 hypertension in NICE guideline NG136
# ("Hypertension in adults: diagnosis and management", 2019, updated 2023: clinic blood pressure
# 160/100 mmHg or higher); either number at or above it raises the flag.
BLOOD_PRESSURE_HIGH_SYSTOLIC = 160
BLOOD_PRESSURE_HIGH_DIASTOLIC = 100
# What a person could plausibly read off a home monitor; anything outside is a typing slip.
SYSTOLIC_RANGE = (70, 250)
DIASTOLIC_RANGE = (40, 150)


# --- Questions ------------------------------------------------------------------------------


class Kind:
    """How a question is asked (the form's control) and how its answer is stored (the column)."""

    TEXT = "text"  # one line of text
    LONG_TEXT = "long_text"  # a paragraph
    EMAIL = "email"
    PHONE = "phone"
    DATE = "date"
    CHOICE = "choice"  # one of a few, as radio buttons
    SELECT = "select"  # one of many, as a menu
    MULTIPLE = "multiple"  # any of a few, stored as a list
    TICKS = "ticks"  # any of a few, stored as one yes/no column per option
    TICK = "tick"  # one optional tick box
    YES_NO = "yes_no"  # a required yes or no, as radio buttons
    CONSENT = "consent"  # a tick box that must be ticked
    SCORE = "score"  # one PHQ-9 item, 0 to 3
    NUMBER = "number"  # a whole number within ``number_range``


@dataclass(frozen=True)
class Option:
    """One tick box of a ``TICKS`` question, stored in a yes/no column of its own."""

    name: str
    label: Any
    verbose_name: Any
    flag: str | None = None


@dataclass(frozen=True)
class Question:
    name: str
    kind: str
    label: Any  # what the patient reads
    verbose_name: Any = None  # what staff read (the column's name); the label if not given
    help_text: Any = ""
    choices: list | None = None
    options: list[Option] = field(default_factory=list)
    required: bool = True
    # A yes/no column that may hold no answer: an unfinished request (an urgent draft that reached
    # staff) may stop before the question.
    nullable: bool = False
    required_message: Any = None
    messages: dict = field(default_factory=dict)  # the form's other error messages, by code
    # Required only when another answer has a value: (question, value, message).
    required_if: tuple | None = None
    audience: str = CONTACT
    free_text: bool = False  # anything could be in it: emptied by retention, kept out of logs
    searched: bool = False  # staff may search it (clinicians only, for a screening answer)
    export_header: Any = None  # its column in the CSV export, if it has one
    flags_when: dict = field(default_factory=dict)  # answer value -> the flag it raises
    flags_mentioned: dict = field(default_factory=dict)  # flag -> names that raise it when written
    max_length: int | None = None  # of the stored answer
    input_max_length: int | None = None  # of what may be typed, when longer than what is stored
    rows: int | None = None
    staff_help_text: Any = ""  # the column's help text, for staff
    attrs: dict = field(default_factory=dict)  # the control's HTML attributes
    # What the staff page shows for the answer: one display may stand for several questions.
    staff_display: str | None = None
    number_range: tuple | None = None  # (lowest, highest) of a NUMBER
    # Flags that depend on more than this answer: a function of all the answers (by column name).
    flag_rule: Any = None

    @property
    def column_names(self):
        return [option.name for option in self.options] if self.kind == Kind.TICKS else [self.name]

    @property
    def shown_to_staff_as(self):
        return self.staff_display or self.name

    def model_fields(self):
        """The answer's columns, as (name, field) pairs."""
        verbose_name = self.verbose_name or self.label
        blank = not self.required
        match self.kind:
            case Kind.TEXT | Kind.PHONE:
                column = models.CharField(
                    verbose_name, max_length=self.max_length, blank=blank, help_text=self.staff_help_text
                )
                return [(self.name, column)]
            case Kind.LONG_TEXT:
                return [(self.name, models.TextField(verbose_name, max_length=self.max_length, blank=blank))]
            case Kind.EMAIL:
                return [(self.name, models.EmailField(verbose_name, max_length=self.max_length))]
            case Kind.DATE:
                return [(self.name, models.DateField(verbose_name, null=blank, blank=blank))]
            case Kind.CHOICE | Kind.SELECT:
                column = models.CharField(
                    verbose_name, max_length=self.max_length, choices=self.choices, blank=blank
                )
                return [(self.name, column)]
            case Kind.MULTIPLE:
                column = ArrayField(
                    models.CharField(max_length=self.max_length, choices=self.choices),
                    verbose_name=verbose_name,
                    default=list,
                    blank=True,
                )
                return [(self.name, column)]
            case Kind.TICKS:
                return [
                    (option.name, models.BooleanField(option.verbose_name, default=False))
                    for option in self.options
                ]
            case Kind.TICK:
                return [(self.name, models.BooleanField(verbose_name, default=False))]
            case Kind.YES_NO:
                # An optional yes or no (the intake's) is empty until answered.
                return [
                    (self.name, models.BooleanField(verbose_name, null=blank or self.nullable, blank=blank))
                ]
            case Kind.CONSENT:
                return [(self.name, models.BooleanField(verbose_name, null=self.nullable))]
            case Kind.NUMBER:
                low, high = self.number_range
                column = models.PositiveSmallIntegerField(
                    verbose_name,
                    null=True,
                    blank=True,
                    validators=[MinValueValidator(low), MaxValueValidator(high)],
                )
                return [(self.name, column)]
            case Kind.SCORE:
                column = models.PositiveSmallIntegerField(
                    verbose_name, choices=Phq9Answer.choices, null=True, blank=True
                )
                return [(self.name, column)]
        raise ValueError(f"Unknown kind of question: {self.kind}")

    def flags(self, answers):
        """The flags the answer raises, from answers keyed by column name."""
        if self.flag_rule:
            return self.flag_rule(answers)
        if self.kind == Kind.TICKS:
            return {option.flag for option in self.options if option.flag and answers.get(option.name)}
        if self.flags_mentioned:
            return mentioned_flags(answers.get(self.name) or "", self.flags_mentioned)
        if not self.flags_when:
            return set()
        flag = self.flags_when.get(answers.get(self.name))
        return {flag} if flag else set()


@dataclass(frozen=True)
class Section:
    """A page of questions: one step of the booking or of the intake, and a group on the staff page."""

    id: str
    stage: str  # BOOKING or INTAKE
    legend: Any  # the patient's heading
    staff_legend: Any  # the heading on the staff page
    questions: list[Question]
    intro: Any = ""
    question: Any = ""  # a stem that the section's questions share (the PHQ-9's)
    staff_collapsed: bool = False


def _phq9_item(number, text):
    return Question(
        name=f"phq9_{number}",
        kind=Kind.SCORE,
        label=text,
        verbose_name=_("PHQ-9 item %(number)d") % {"number": number},
        required=False,
        audience=SCREENING,
        staff_display="phq9_answers",
    )


def _mdq_item(number, text):
    return Question(
        name=f"mdq_{number}",
        kind=Kind.YES_NO,
        label=text,
        verbose_name=_("MDQ item %(number)d") % {"number": number},
        required=False,
        audience=SCREENING,
        staff_display="mdq_answers",
    )


def _blood_pressure_flags(answers):
    high = blood_pressure_is_high(
        systolic=answers.get("blood_pressure_systolic"), diastolic=answers.get("blood_pressure_diastolic")
    )
    return {Flag.BLOOD_PRESSURE_HIGH} if high else set()


def _mdq_flags(answers):
    return {Flag.MDQ_POSITIVE} if mdq_result_of(answers).outcome == MdqResult.POSITIVE else set()


def _consent(name, label, verbose_name, required_message):
    return Question(
        name=name,
        kind=Kind.CONSENT,
        label=label,
        verbose_name=verbose_name,
        required_message=required_message,
        staff_display="consents",
    )


SECTIONS = [
    # The booking: a few short steps, each a page.
    Section(
        id="contact",
        stage=BOOKING,
        legend=_("Your contact details"),
        staff_legend=_("Contact details"),
        questions=[
            Question(
                name="first_name",
                kind=Kind.TEXT,
                label=_("First name"),
                verbose_name=_("first name"),
                max_length=100,
                required_message=_("Enter your first name."),
                searched=True,
                export_header=_("First name"),
                attrs={"autocomplete": "given-name", "spellcheck": "false"},
                staff_display="patient_name",
            ),
            Question(
                name="last_name",
                kind=Kind.TEXT,
                label=_("Last name"),
                verbose_name=_("last name"),
                max_length=100,
                required_message=_("Enter your last name."),
                searched=True,
                export_header=_("Last name"),
                attrs={"autocomplete": "family-name", "spellcheck": "false"},
                staff_display="patient_name",
            ),
            Question(
                name="email",
                kind=Kind.EMAIL,
                label=_("E-mail address"),
                verbose_name=_("e-mail address"),
                help_text=_("We send your reference here. Our e-mails never include health details."),
                max_length=254,
                messages={
                    "required": _("Enter your e-mail address."),
                    "invalid": _("Enter an e-mail address in the right format, like name@example.com."),
                    "max_length": _("Enter an e-mail address of 254 characters or fewer."),
                },
                searched=True,
                export_header=_("E-mail"),
                attrs={"autocomplete": "email", "spellcheck": "false"},
                staff_display="email_link",
            ),
            Question(
                name="phone",
                kind=Kind.PHONE,
                label=_("Phone number"),
                verbose_name=_("phone number"),
                help_text=_("A US number, or any number starting with + and its country code."),
                max_length=20,
                input_max_length=32,
                staff_help_text=_("In international format."),
                required_message=_("Enter a phone number we can reach you on."),
                searched=True,
                export_header=_("Phone"),
                attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"},
                staff_display="phone_link",
            ),
            Question(
                name="contact_method",
                kind=Kind.CHOICE,
                label=_("How should we contact you?"),
                verbose_name=_("preferred contact method"),
                choices=ContactMethod.choices,
                max_length=8,
                required_message=_("Choose how you would like us to contact you."),
                export_header=_("Preferred contact"),
            ),
            Question(
                name="contact_times",
                kind=Kind.MULTIPLE,
                label=_("When is a good time? (optional)"),
                verbose_name=_("good times to contact"),
                help_text=_("Tick all that suit you. Times are the clinic’s local time."),
                choices=ContactTime.choices,
                max_length=12,
                required=False,
                staff_display="contact_times_display",
            ),
            Question(
                name="voicemail_ok",
                kind=Kind.TICK,
                label=_("You may leave a voicemail that mentions the clinic’s name"),
                verbose_name=_("voicemail allowed"),
                required=False,
                staff_display="contact_permissions",
            ),
            Question(
                name="text_ok",
                kind=Kind.TICK,
                label=_("You may send me text messages"),
                verbose_name=_("text messages allowed"),
                required=False,
                staff_display="contact_permissions",
            ),
            _consent(
                "consent_privacy",
                _("I have read the privacy notice"),
                _("read the privacy notice"),
                _("Confirm that you have read the privacy notice."),
            ),
            _consent(
                "consent_contact",
                _("The clinic may contact me about this request by the ways I chose"),
                _("agreed to be contacted"),
                _("Confirm that we may contact you about your request."),
            ),
        ],
    ),
    Section(
        id="safety",
        stage=BOOKING,
        legend=_("Your safety"),
        staff_legend=_("Safety"),
        intro=_(
            "We ask everyone this. Whatever you answer, your request is sent and a person at the clinic reads it."
        ),
        questions=[
            Question(
                name="self_harm_thoughts",
                kind=Kind.YES_NO,
                label=_("Are you having thoughts of harming yourself or of ending your life at the moment?"),
                verbose_name=_("current thoughts of self-harm"),
                required_message=_("Answer this question, so that we know how to help you safely."),
                audience=SCREENING,
                export_header=_("Thoughts of self-harm"),
                staff_display="self_harm_answer",
            ),
        ],
    ),
    Section(
        id="eligibility",
        stage=BOOKING,
        legend=_("Where you will be, and your age"),
        staff_legend=_("Where and age"),
        questions=[
            Question(
                name="state",
                kind=Kind.SELECT,
                label=_("Which state will you be in for the consultation?"),
                help_text=_(
                    "For a video call, the state you will be in during the call; for an in-person visit, "
                    "the state you live in."
                ),
                verbose_name=_("state for the consultation"),
                choices=US_STATES,
                max_length=2,
                messages={"blank_label": _("Choose your state")},
                required_message=_("Choose the state you will be in for the consultation."),
                export_header=_("State"),
                attrs={"autocomplete": "address-level1"},
            ),
            Question(
                name="is_adult",
                kind=Kind.YES_NO,
                label=_("Are you 18 or older?"),
                verbose_name=_("18 or older"),
                nullable=True,
                required_message=_("Answer yes or no: are you 18 or older?"),
                export_header=_("18 or older"),
            ),
        ],
    ),
    Section(
        id="visit",
        stage=BOOKING,
        legend=_("Your consultation"),
        staff_legend=_("Consultation"),
        questions=[
            Question(
                name="concern",
                kind=Kind.CHOICE,
                label=_("What would you most like help with? (optional)"),
                verbose_name=_("wants help with"),
                choices=Concern.choices,
                max_length=24,
                required=False,
                audience=SCREENING,
                export_header=_("Wants help with"),
            ),
            Question(
                name="concern_other",
                kind=Kind.TEXT,
                label=_("If something else, tell us briefly"),
                verbose_name=_("something else (details)"),
                max_length=200,
                required=False,
                required_if=("concern", Concern.OTHER, _("Tell us briefly what you would like help with.")),
                audience=SCREENING,
                free_text=True,
                searched=True,
            ),
            Question(
                name="modality",
                kind=Kind.CHOICE,
                label=_("How would you like your first consultation?"),
                verbose_name=_("consultation"),
                choices=Modality.choices,
                max_length=12,
                required_message=_("Choose in person, telehealth, or either."),
                export_header=_("Consultation"),
            ),
        ],
    ),
    Section(
        id="check",
        stage=BOOKING,
        legend=_("Before you send your request"),
        staff_legend=_("Acknowledgement"),
        staff_collapsed=True,
        questions=[
            _consent(
                "consent_not_emergency",
                _("I understand this form is not for emergencies"),
                _("understands this is not for emergencies"),
                _("Confirm that you understand this form is not for emergencies."),
            ),
        ],
    ),
    # The clinical intake: after booking, every question optional.
    Section(
        id="about",
        stage=INTAKE,
        legend=_("About you"),
        staff_legend=_("About the patient"),
        questions=[
            Question(
                name="date_of_birth",
                kind=Kind.DATE,
                label=_("Date of birth (optional)"),
                verbose_name=_("date of birth"),
                help_text=_("For example, 3 27 1985."),
                staff_display="date_of_birth_and_age",
                required=False,
            ),
            Question(
                name="episode",
                kind=Kind.CHOICE,
                label=_("How would you describe your mood at the moment?"),
                verbose_name=_("current episode"),
                choices=Episode.choices,
                max_length=12,
                required=False,
                audience=SCREENING,
                export_header=_("Current episode"),
                flags_when={Episode.MANIC: Flag.MANIA, Episode.MIXED: Flag.MANIA},
            ),
            Question(
                name="diagnosis",
                kind=Kind.CHOICE,
                label=_("Which diagnosis have you been given, as far as you know?"),
                verbose_name=_("diagnosis, as the patient knows it"),
                help_text=_("Choose the one that fits best. A clinician will talk it through with you."),
                choices=Diagnosis.choices,
                max_length=16,
                required=False,
                audience=SCREENING,
                export_header=_("Diagnosis (as the patient knows it)"),
            ),
        ],
    ),
    Section(
        id="treatments",
        stage=INTAKE,
        legend=_("Treatments you have tried"),
        staff_legend=_("Treatments tried"),
        questions=[
            Question(
                name="antidepressant_trials",
                kind=Kind.CHOICE,
                label=_("How many different antidepressants have you tried?"),
                verbose_name=_("antidepressants tried"),
                choices=AntidepressantTrials.choices,
                max_length=8,
                required=False,
                audience=SCREENING,
            ),
            Question(
                name="treatments_tried",
                kind=Kind.TICKS,
                label=_("Have you tried any of these? (optional)"),
                verbose_name=_("treatments tried"),
                help_text=_("Tick all that apply."),
                options=[
                    Option(
                        "tried_mood_stabilisers",
                        _("Mood stabilisers (such as lithium or lamotrigine)"),
                        _("mood stabilisers"),
                    ),
                    Option("tried_therapy", _("Talking therapy"), _("talking therapy")),
                    Option("tried_ect_tms", _("ECT or TMS"), _("ECT or TMS")),
                    Option(
                        "tried_ketamine",
                        _("Ketamine or esketamine (Spravato)"),
                        _("ketamine or esketamine before"),
                    ),
                ],
                required=False,
                audience=SCREENING,
            ),
            Question(
                name="treatments_other",
                kind=Kind.LONG_TEXT,
                label=_("Anything else you have tried (optional)"),
                verbose_name=_("other treatments"),
                max_length=1000,
                rows=3,
                required=False,
                audience=SCREENING,
                free_text=True,
                searched=True,
            ),
            Question(
                name="treatment_preference",
                kind=Kind.CHOICE,
                label=_("Which treatment are you interested in?"),
                verbose_name=_("treatment preference"),
                choices=Treatment.choices,
                max_length=12,
                required=False,
                audience=SCREENING,
                export_header=_("Treatment preference"),
            ),
        ],
    ),
    Section(
        id="health",
        stage=INTAKE,
        legend=_("Your medicines and health"),
        staff_legend=_("Medicines and health"),
        questions=[
            Question(
                name="current_medications",
                kind=Kind.LONG_TEXT,
                label=_("Which medicines do you take at the moment? (optional)"),
                verbose_name=_("current medications"),
                help_text=_("Include the dose if you know it. You can also tell us by phone."),
                max_length=2000,
                rows=4,
                required=False,
                audience=SCREENING,
                free_text=True,
                searched=True,
                export_header=_("Current medications"),
                flags_mentioned=MEDICINES,
            ),
            Question(
                name="medical_history",
                kind=Kind.TICKS,
                label=_("Do any of these apply to you? (optional)"),
                verbose_name=_("medical history"),
                help_text=_("Tick all that apply. A clinician reads these before your consultation."),
                options=[
                    Option(
                        "high_blood_pressure",
                        _("High blood pressure"),
                        _("high blood pressure"),
                        Flag.CARDIOVASCULAR,
                    ),
                    Option(
                        "heart_disease_or_stroke",
                        _("Heart disease, heart attack or stroke"),
                        _("heart disease or stroke"),
                        Flag.CARDIOVASCULAR,
                    ),
                    Option(
                        "psychosis_history",
                        _("Psychosis, hallucinations or delusions, now or in the past"),
                        _("history of psychosis"),
                        Flag.PSYCHOSIS,
                    ),
                    Option(
                        "substance_use",
                        _("Regular alcohol or drug use, now or in the past"),
                        _("alcohol or drug use"),
                        Flag.SUBSTANCE_USE,
                    ),
                    Option("seizures", _("Seizures or epilepsy"), _("seizures or epilepsy"), Flag.SEIZURES),
                    Option(
                        "pregnant_or_breastfeeding",
                        _("Pregnant, trying to get pregnant, or breastfeeding"),
                        _("pregnant or breastfeeding"),
                        Flag.PREGNANCY,
                    ),
                    Option("liver_disease", _("Liver disease"), _("liver disease"), Flag.LIVER),
                    Option(
                        "bladder_problems",
                        _("Bladder or urinary problems"),
                        _("bladder or urinary problems"),
                        Flag.BLADDER,
                    ),
                    Option(
                        "raised_eye_pressure",
                        _("Glaucoma or raised pressure in the eye"),
                        _("glaucoma or raised eye pressure"),
                        Flag.EYE_PRESSURE,
                    ),
                ],
                required=False,
                audience=SCREENING,
            ),
            Question(
                name="medical_history_other",
                kind=Kind.LONG_TEXT,
                label=_("Any other health conditions we should know about (optional)"),
                verbose_name=_("other medical history"),
                max_length=1000,
                rows=3,
                required=False,
                audience=SCREENING,
                free_text=True,
                searched=True,
            ),
            Question(
                name="blood_pressure_systolic",
                kind=Kind.NUMBER,
                label=_("Recent blood pressure: the top number (systolic)"),
                verbose_name=_("blood pressure, systolic"),
                help_text=_("From the last time it was measured, if you know it. For 128/82, enter 128."),
                number_range=SYSTOLIC_RANGE,
                required=False,
                audience=SCREENING,
                attrs={"inputmode": "numeric", "autocomplete": "off"},
                staff_display="blood_pressure",
                flag_rule=_blood_pressure_flags,
            ),
            Question(
                name="blood_pressure_diastolic",
                kind=Kind.NUMBER,
                label=_("Recent blood pressure: the bottom number (diastolic)"),
                verbose_name=_("blood pressure, diastolic"),
                help_text=_("For 128/82, enter 82."),
                number_range=DIASTOLIC_RANGE,
                required=False,
                audience=SCREENING,
                attrs={"inputmode": "numeric", "autocomplete": "off"},
                staff_display="blood_pressure",
            ),
            Question(
                name="blood_pressure_unknown",
                kind=Kind.TICK,
                label=_("I don’t know my blood pressure"),
                verbose_name=_("does not know their blood pressure"),
                required=False,
                audience=SCREENING,
                staff_display="blood_pressure",
            ),
        ],
    ),
    Section(
        id="prescriber",
        stage=INTAKE,
        legend=_("Your prescriber"),
        staff_legend=_("Current prescriber"),
        intro=_(
            "The doctor, psychiatrist or nurse practitioner who prescribes your medicines now, if you have one."
        ),
        questions=[
            Question(
                name="prescriber_name",
                kind=Kind.TEXT,
                label=_("Their name (optional)"),
                verbose_name=_("current prescriber or psychiatrist"),
                max_length=200,
                required=False,
                audience=SCREENING,
                free_text=True,
                attrs={"autocomplete": "off"},
            ),
            Question(
                name="prescriber_contact",
                kind=Kind.TEXT,
                label=_("How to contact them (optional)"),
                verbose_name=_("prescriber’s contact details"),
                help_text=_("A phone number, an e-mail address, or the name of their practice."),
                max_length=200,
                required=False,
                audience=SCREENING,
                free_text=True,
                attrs={"autocomplete": "off"},
            ),
            Question(
                name="prescriber_contact_ok",
                kind=Kind.TICK,
                label=_("The clinic may contact my prescriber about my care"),
                verbose_name=_("agreed that the clinic may contact their prescriber"),
                required=False,
                audience=SCREENING,
            ),
        ],
    ),
    Section(
        id="phq9",
        stage=INTAKE,
        legend=_("How you have been feeling (optional)"),
        staff_legend=_("PHQ-9"),
        intro=_(
            "These nine questions are the PHQ-9, a questionnaire clinicians use. Answer the ones you "
            "want to; you can leave any of them blank and talk it through with us instead."
        ),
        question=_(
            "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
        ),
        questions=[_phq9_item(number, text) for number, text in enumerate(PHQ9_ITEMS, start=1)],
    ),
    Section(
        id="mdq",
        stage=INTAKE,
        legend=_("Times when you were not your usual self (optional)"),
        staff_legend=_("MDQ"),
        intro=_(
            "These questions are the Mood Disorder Questionnaire (MDQ), which clinicians use. Answer the "
            "ones you want to; you can leave any of them blank."
        ),
        question=MDQ_STEM,
        questions=[
            *(_mdq_item(number, text) for number, text in enumerate(MDQ_ITEMS, start=1)),
            Question(
                name="mdq_same_period",
                kind=Kind.YES_NO,
                label=_(
                    "If you answered yes to more than one of these, have several of them ever happened "
                    "during the same period of time?"
                ),
                verbose_name=_("MDQ: several at the same time"),
                required=False,
                audience=SCREENING,
                staff_display="mdq_answers",
            ),
            Question(
                name="mdq_problem",
                kind=Kind.CHOICE,
                label=_(
                    "How much of a problem did any of these cause you, like being unable to work; having "
                    "family, money or legal troubles; getting into arguments or fights?"
                ),
                verbose_name=_("MDQ: how much of a problem"),
                choices=MdqProblem.choices,
                max_length=8,
                required=False,
                audience=SCREENING,
                staff_display="mdq_answers",
                flag_rule=_mdq_flags,
            ),
        ],
    ),
    Section(
        id="payment",
        stage=INTAKE,
        legend=_("Payment, and how you found us"),
        staff_legend=_("Payment, and how they found us"),
        questions=[
            Question(
                name="payment",
                kind=Kind.CHOICE,
                label=_("How do you expect to pay?"),
                verbose_name=_("payment"),
                choices=Payment.choices,
                max_length=12,
                export_header=_("Payment"),
                required=False,
            ),
            Question(
                name="insurance_carrier",
                kind=Kind.TEXT,
                label=_("Insurance carrier (if you chose health insurance)"),
                verbose_name=_("insurance carrier"),
                max_length=100,
                required=False,
                required_if=(
                    "payment",
                    Payment.INSURANCE,
                    _("Enter the name of your insurance carrier, or choose another way to pay."),
                ),
                free_text=True,
                export_header=_("Insurance carrier"),
                attrs={"autocomplete": "off"},
            ),
            Question(
                name="heard_about",
                kind=Kind.SELECT,
                label=_("How did you hear about us? (optional)"),
                verbose_name=_("heard about us from"),
                choices=HeardAbout.choices,
                max_length=12,
                messages={"blank_label": _("Choose an answer")},
                required=False,
            ),
            Question(
                name="heard_about_other",
                kind=Kind.TEXT,
                label=_("Tell us more (optional)"),
                verbose_name=_("heard about us (details)"),
                max_length=200,
                required=False,
                free_text=True,
            ),
        ],
    ),
]

QUESTIONS = {question.name: question for section in SECTIONS for question in section.questions}


def sections(*, stage):
    """The pages of the booking or of the intake, in order."""
    return [section for section in SECTIONS if section.stage == stage]


def questions(*, audience=None):
    """Every question in the order the patient meets them; only one audience's, if given."""
    return [q for q in QUESTIONS.values() if audience is None or q.audience == audience]


def visible_questions(*, screening):
    """The questions whose answers a staff member may read: all of them with screening access."""
    return [q for q in QUESTIONS.values() if screening or q.audience == CONTACT]


def answer_columns(*, audience=None):
    """The model's answer columns, in the questionnaire's order."""
    return [name for question in questions(audience=audience) for name in question.column_names]


def model_fields():
    """Every answer column as (name, field), for the request model."""
    return [pair for question in QUESTIONS.values() for pair in question.model_fields()]


CONSENT_FIELDS = [q.name for q in QUESTIONS.values() if q.kind == Kind.CONSENT]
FREE_TEXT_FIELDS = [q.name for q in QUESTIONS.values() if q.free_text]
SEARCHED_FIELDS = [q.name for q in QUESTIONS.values() if q.searched]


# --- The rules ------------------------------------------------------------------------------


def _close_enough(word, name):
    """The same word, or (for names of five letters or more) one or two letters out."""
    if word == name:
        return True
    if len(name) < 5 or name in EXACT_ONLY or abs(len(word) - len(name)) > 2:
        return False
    allowed = 1 if len(name) < 9 else 2
    return _edit_distance(word, name, limit=allowed) <= allowed


def _edit_distance(a, b, *, limit):
    """Levenshtein distance, given up (``limit + 1``) once it exceeds ``limit``."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def mentioned_flags(text, names_by_flag):
    """The flags whose names appear in free text, whatever the case and with small misspellings."""
    words = set(re.findall(r"[a-z]+", text.lower()))
    return {
        flag
        for flag, names in names_by_flag.items()
        if any(_close_enough(word, name) for name in names for word in words)
    }


def phq9_is_partial(answers):
    """Some PHQ-9 items answered and some skipped: no score, and staff see how many were answered."""
    answered = [answer is not None for answer in answers]
    return any(answered) and not all(answered)


def phq9_answered(answers):
    """How many of the nine PHQ-9 items were answered (a skipped item is not a 0)."""
    return sum(answer is not None for answer in answers)


def phq9_score(answers):
    """The PHQ-9 total of the nine answers (0 to 27), or None unless all nine are answered."""
    answers = list(answers)
    return None if None in answers or len(answers) != len(PHQ9_FIELDS) else sum(answers)


def phq9_score_expression():
    """The same total computed by PostgreSQL: NULL unless all nine are answered."""
    expression = F(PHQ9_FIELDS[0])
    for name in PHQ9_FIELDS[1:]:
        expression += F(name)
    return expression


def phq9_constraints():
    """Each item empty (skipped) or 0 to 3: the database's last line of defence."""
    return [
        models.CheckConstraint(
            condition=Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__range": (0, 3)}),
            name=f"appt_request_{name}_range",
        )
        for name in PHQ9_FIELDS
    ]


def number_constraints():
    """Each number answer (a blood pressure) empty or within its question's range."""
    return [
        models.CheckConstraint(
            condition=Q(**{f"{q.name}__isnull": True}) | Q(**{f"{q.name}__range": q.number_range}),
            name=f"appt_request_{q.name}_range",
        )
        for q in QUESTIONS.values()
        if q.kind == Kind.NUMBER
    ]


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


@dataclass(frozen=True)
class MdqResult:
    """The MDQ as published: positive, negative, or not decided by the answers given."""

    POSITIVE = "positive"
    NEGATIVE = "negative"
    INCOMPLETE = "incomplete"
    NOT_ANSWERED = "not_answered"

    outcome: str
    yes: int  # items answered yes, of the 13
    answered: int  # items answered, of the 13


def mdq_result(*, items, same_period, problem):
    """Score the MDQ as published (not a sum): positive with 7 or more of the 13 items yes AND several
    at the same time AND a moderate or serious problem; negative when any of the three cannot hold
    whatever the skipped answers would have been; otherwise incomplete."""
    items = list(items)
    yes = sum(answer is True for answer in items)
    answered = sum(answer is not None for answer in items)
    if not answered and same_period is None and not problem:
        return MdqResult(MdqResult.NOT_ANSWERED, yes, answered)
    unanswered = len(MDQ_FIELDS) - answered
    if yes >= MDQ_POSITIVE_FROM and same_period is True and problem in MDQ_PROBLEM_ENOUGH:
        outcome = MdqResult.POSITIVE
    elif (
        yes + unanswered < MDQ_POSITIVE_FROM
        or same_period is False
        or problem in {MdqProblem.NONE, MdqProblem.MINOR}
    ):
        outcome = MdqResult.NEGATIVE
    else:
        outcome = MdqResult.INCOMPLETE
    return MdqResult(outcome, yes, answered)


def mdq_result_of(answers):
    """``mdq_result`` of answers keyed by column name."""
    return mdq_result(
        items=(answers.get(name) for name in MDQ_FIELDS),
        same_period=answers.get("mdq_same_period"),
        problem=answers.get("mdq_problem") or "",
    )


def blood_pressure_is_high(*, systolic, diastolic):
    """A recent blood pressure at or above 160/100 (either number), for a clinician to look at."""
    return (systolic or 0) >= BLOOD_PRESSURE_HIGH_SYSTOLIC or (
        diastolic or 0
    ) >= BLOOD_PRESSURE_HIGH_DIASTOLIC


def blood_pressure_problem(*, systolic, diastolic, unknown):
    """What is wrong with a blood pressure as answered, as (question, message); None if nothing."""
    if (systolic or diastolic) and unknown:
        return "blood_pressure_unknown", _("Enter your blood pressure or tick “I don’t know”, not both.")
    if systolic and not diastolic:
        return "blood_pressure_diastolic", _("Enter the bottom number too, or leave both blank.")
    if diastolic and not systolic:
        return "blood_pressure_systolic", _("Enter the top number too, or leave both blank.")
    if systolic and diastolic and diastolic >= systolic:
        return "blood_pressure_diastolic", _(
            "The bottom number is smaller than the top one (as in 128/82): check the two numbers."
        )
    return None


def reports_self_harm(*, self_harm_thoughts, phq9_9):
    """Current thoughts of self-harm, which make a request urgent: the direct question, or PHQ-9
    item 9 above zero."""
    return bool(self_harm_thoughts) or (phq9_9 or 0) > 0


def urgent_reasons(*, self_harm_thoughts, phq9_9):
    """Why a request is urgent, in words for clinicians (the front desk is told only to call today)."""
    reasons = []
    if self_harm_thoughts:
        reasons.append(_("answered yes to current thoughts of self-harm"))
    if (phq9_9 or 0) > 0:
        reasons.append(_("PHQ-9 item 9 = %(answer)d") % {"answer": phq9_9})
    return reasons


# ``reports_self_harm`` is false, as PostgreSQL reads it (a NULL item 9 is no answer).
NO_SELF_HARM = Q(self_harm_thoughts=False, phq9_9__isnull=True) | Q(self_harm_thoughts=False, phq9_9=0)


def answer_flags(answers):
    """The clinician flags that answers raise (keyed by column name), in the flags' own order."""
    raised = set()
    if reports_self_harm(self_harm_thoughts=answers.get("self_harm_thoughts"), phq9_9=answers.get("phq9_9")):
        raised.add(Flag.SELF_HARM)
    for question in QUESTIONS.values():
        raised |= question.flags(answers)
    score = phq9_score(answers.get(name) for name in PHQ9_FIELDS)
    if score is not None and score >= PHQ9_SEVERE_FROM:
        raised.add(Flag.PHQ9_SEVERE)
    return [str(flag) for flag in Flag if flag in raised]
