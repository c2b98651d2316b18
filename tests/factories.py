"""Everything the tests and benchmarks make directly in the database: consultation requests, staff
logins, and the education library's articles, topics and questions.

Requests made here skip the form and its e-mails: they are for tests of what staff do with
requests that already exist (the form's own tests go through the form).
"""

import datetime
import itertools

import factory
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice

from appointments import questionnaire, targets
from appointments.models import ConsultationRequest, new_reference, new_token
from appointments.roles import CLINIC_ADMIN, CLINICIAN, FRONT_DESK, staff_groups_create
from education.models import Article, FAQEntry, Topic

ROLES = {"front_desk": FRONT_DESK, "clinician": CLINICIAN, "clinic_admin": CLINIC_ADMIN}
PASSWORD = "a long staff passphrase"
_numbers = itertools.count(1)

FIRST_NAMES = ["Maria", "James", "Aisha", "Chen", "Olivia", "Mateo", "Grace", "Dmitri", "Priya", "Samuel"]
LAST_NAMES = [
    "Okonkwo",
    "Lindqvist",
    "Haddad",
    "Nakamura",
    "Fernandes",
    "Walsh",
    "Kowalski",
    "Osei",
    "Brennan",
]


# --- Answers, a stage at a time ---------------------------------------------------------------
#
# One builder per stage of a request's life, each checked against the questionnaire: what a patient
# posts through the booking's steps (``booking_answers``), what they post through the intake's pages
# (``intake_answers``), and a request as stored (``request_fields``). Each refuses a name its stage
# does not have: an answer that would be dropped on the way is a test that cannot fail.

# Distinctive free-text answers, one per free-text question: if one turns up in an e-mail, a log or a
# page it does not belong on, a health detail has leaked.
SCREENING_MARKERS = {
    "concern_other": "Zebrafinch-concern-marker",
    "treatments_other": "Quokka-treatment-marker",
    "current_medications": "Lamotrigine-200mg-marker",
    "medical_history_other": "Narwhal-history-marker",
    "insurance_carrier": "Axolotl-insurance-marker",
    "heard_about_other": "Pangolin-heard-marker",
}


def posted_names(form_class):
    """The names a browser posts for a form's fields: a date's three boxes by their own names."""
    names = []
    for name, field in form_class.base_fields.items():
        if name in getattr(form_class, "derived", ()):
            continue
        if isinstance(field.widget, forms.MultiWidget):
            names += [f"{name}{suffix}" for suffix in field.widget.widgets_names]
        else:
            names.append(name)
    return names


def booking_step_names():
    """Each booking step's section id -> the names its page posts (Send's page last, as ``check``)."""
    from appointments.forms import STEP_FORMS, SendForm

    steps = {section_id: posted_names(form) for section_id, form in STEP_FORMS.items()}
    return {**steps, "check": posted_names(SendForm)}


def intake_page_names():
    """Each intake page's section id -> the names its page posts."""
    from appointments.forms.intake import intake_form

    return {
        section.id: posted_names(intake_form(section.id))
        for section in questionnaire.sections(stage=questionnaire.INTAKE)
    }


# The first step's address carries the article the patient came from (``?from=``).
BOOKING_QUERY = ("source_article",)


def _refuse_unknown(overrides, known, what):
    unknown = set(overrides) - set(known)
    if unknown:
        raise ValueError(f"{what}: {', '.join(sorted(unknown))}")


def _posted(defaults, overrides):
    """``defaults`` with ``overrides``; None leaves a name out, as a browser leaves out an unticked box."""
    answers = {**defaults, **overrides}
    return {name: value for name, value in answers.items() if value is not None}


def booking_answers(**overrides):
    """What a patient posts through the booking's steps and Send: a complete, valid, routine booking.

    Keyword arguments replace answers, by the names the pages post; None leaves one out (an unticked
    box). A name that no step of the booking asks raises ``ValueError``.
    """
    defaults = {
        "first_name": "Maria",
        "last_name": "Okonkwo-Lindqvist",
        "email": "maria@example.com",
        "phone": "(212) 555-0199",
        "contact_method": "phone",
        "contact_times": ["morning", "evening"],
        "voicemail_ok": "on",
        "consent_privacy": "on",
        "consent_contact": "on",
        "self_harm_thoughts": "no",
        "state": "NY",
        "is_adult": "yes",
        "concern": "other",
        "concern_other": SCREENING_MARKERS["concern_other"],
        "modality": "telehealth",
        "consent_not_emergency": "on",
        "source_article": "",
        "form_token": new_token(),
        "website": "",
    }
    known = [*itertools.chain.from_iterable(booking_step_names().values()), *BOOKING_QUERY]
    _refuse_unknown(overrides, known, "Not asked while booking")
    return _posted(defaults, overrides)


def intake_answers(**overrides):
    """What a patient posts through the clinical intake's pages: the usual pages answered, the
    PHQ-9, the MDQ, the blood pressure and the prescriber left blank (every question is optional).

    Keyword arguments replace answers, by the names the pages post (``date_of_birth_month``, ``_day``
    and ``_year`` for the date's boxes); None leaves one out. A name that no page of the intake asks
    raises ``ValueError``.
    """
    defaults = {
        "date_of_birth_month": "3",
        "date_of_birth_day": "27",
        "date_of_birth_year": "1985",
        "episode": "depressive",
        "antidepressant_trials": "3+",
        "treatments_tried": ["tried_mood_stabilisers", "tried_therapy"],
        "treatments_other": SCREENING_MARKERS["treatments_other"],
        "treatment_preference": "iv",
        "current_medications": SCREENING_MARKERS["current_medications"],
        "medical_history": ["high_blood_pressure", "seizures"],
        "medical_history_other": SCREENING_MARKERS["medical_history_other"],
        "payment": "insurance",
        "insurance_carrier": SCREENING_MARKERS["insurance_carrier"],
        "heard_about": "other",
        "heard_about_other": SCREENING_MARKERS["heard_about_other"],
    }
    _refuse_unknown(
        overrides, itertools.chain.from_iterable(intake_page_names().values()), "Not asked in the intake"
    )
    return _posted(defaults, overrides)


def phq9(*scores):
    """The PHQ-9's answers, item 1 first, as the intake's page posts them."""
    return {f"phq9_{n}": str(score) for n, score in enumerate(scores, start=1)}


def request_answers(**overrides):
    """A stored request's answer columns, as ``consultation_request_create`` takes them: complete,
    valid, routine, raising no flag. A name that is not an answer column raises ``ValueError``."""
    defaults = {
        "first_name": FIRST_NAMES[0],
        "last_name": LAST_NAMES[0],
        "email": "patient@example.com",
        "phone": "+12125550100",
        "contact_method": "phone",
        "contact_times": ["morning"],
        "date_of_birth": datetime.date(1980, 1, 1),
        "state": "NY",
        "concern": "bipolar_depression",
        "episode": "depressive",
        "antidepressant_trials": "3+",
        "current_medications": "",
        "modality": "telehealth",
        "treatment_preference": "iv",
        "payment": "self_pay",
        "self_harm_thoughts": False,
        "is_adult": True,
        "consent_privacy": True,
        "consent_contact": True,
        "consent_not_emergency": True,
    }
    _refuse_unknown(overrides, questionnaire.answer_columns(), "Not an answer column")
    return {**defaults, **overrides}


def request_fields(number=None, **overrides):
    """The fields of a complete, valid, routine stored request (``request_answers`` with a reference,
    its tokens and a name, e-mail and phone of its own); keyword arguments replace any column of it.
    A name that is not a column of the request raises ``ValueError``."""
    from appointments.models import ConsultationRequest

    number = next(_numbers) if number is None else number
    _refuse_unknown(
        overrides,
        [field.name for field in ConsultationRequest._meta.concrete_fields],
        "Not a column of a request",
    )
    columns = set(questionnaire.answer_columns())
    own = {
        "first_name": FIRST_NAMES[number % len(FIRST_NAMES)],
        "last_name": LAST_NAMES[number % len(LAST_NAMES)],
        "email": f"patient{number}@example.com",
        "phone": f"+1212555{number % 10000:04d}",
        "date_of_birth": datetime.date(1980, 1, 1) + datetime.timedelta(days=number % 9000),
    }
    answers = request_answers(**{**own, **{name: v for name, v in overrides.items() if name in columns}})
    return {
        "reference": new_reference(),
        "form_token": new_token(),
        "confirmation_token": new_token(),
        **answers,
        **{name: value for name, value in overrides.items() if name not in columns},
    }


def make_request(*, created_at=None, **overrides):
    """Save one request; ``created_at`` backdates it (``auto_now_add`` would otherwise win)."""
    fields = request_fields(**overrides)
    # The first-contact deadline, as if it had arrived then (unless the test gives its own).
    received = created_at or timezone.now()
    fields.setdefault(
        "respond_by", targets.respond_by(received=received, urgent=fields.get("is_urgent", False))
    )
    consultation_request = ConsultationRequest.objects.create(**fields)
    if created_at is not None:
        ConsultationRequest.objects.filter(pk=consultation_request.pk).update(created_at=created_at)
        consultation_request.refresh_from_db()
    return consultation_request


def make_requests(count, **overrides):
    """Save ``count`` requests in one query, received a minute apart, newest first."""
    now = timezone.now()
    objects = [ConsultationRequest(**request_fields(**overrides)) for _ in range(count)]
    created = ConsultationRequest.objects.bulk_create(objects)
    for index, consultation_request in enumerate(created):
        consultation_request.created_at = now - datetime.timedelta(minutes=index)
    ConsultationRequest.objects.bulk_update(created, ["created_at"])
    return created


def make_staff(role, username=None, **extra):
    """An active staff login in the group of ``role`` (``front_desk``, ``clinician``, ``clinic_admin``)."""
    staff_groups_create()
    username = username or role.replace("_", "")
    user = get_user_model().objects.create_user(
        username, f"{username}@clinic.example", PASSWORD, is_staff=True, **extra
    )
    user.groups.add(Group.objects.get(name=ROLES[role]))
    return user


def log_in_verified(client, user):
    """Log ``client`` in as ``user``, past the second factor (a confirmed backup-code device)."""
    device = StaticDevice.objects.create(user=user, name="backup", confirmed=True)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def make_kind(**overrides):
    """A consultation kind: 45 minutes, no buffers, bookable from now until a year ahead, any modality."""
    from appointments.models import ConsultationKind

    number = next(_numbers)
    fields = {
        "name": f"Consultation {number}",
        "slug": f"consultation-{number}",
        "duration_minutes": 45,
        "interval_minutes": 15,
        "minimum_notice_minutes": 0,
        "horizon_days": 366,
    }
    fields.update(overrides)
    return ConsultationKind.objects.create(**fields)


def make_clinician(*, kinds=(), states=("NY",), hours=(), username=None, **overrides):
    """A clinician on a new staff login (role ``clinician``), doing ``kinds`` and licensed in ``states``.

    ``hours`` are ``(weekday, "HH:MM", "HH:MM")`` rows of weekly hours in the clinic's time zone.
    """
    from appointments.models import Clinician, WeeklyHours

    number = next(_numbers)
    user = make_staff("clinician", username=username or f"clinician{number}")
    fields = {"display_name": f"Dr. Sample {number}", "licensed_states": list(states)}
    fields.update(overrides)
    clinician = Clinician.objects.create(user=user, **fields)
    clinician.kinds.set(kinds)
    WeeklyHours.objects.bulk_create(
        WeeklyHours(
            clinician=clinician,
            weekday=weekday,
            starts=datetime.time.fromisoformat(starts),
            ends=datetime.time.fromisoformat(ends),
        )
        for weekday, starts, ends in hours
    )
    return clinician


# --- The education library ---


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Topic {n}")
    slug = factory.Sequence(lambda n: f"topic-{n}")


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Article
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Article number {n}")
    slug = factory.Sequence(lambda n: f"article-{n}")
    summary = "A short summary for lists and search engines."
    body = "## First section\n\nSome careful words about treatment.\n\n### A detail\n\nMore words."
    status = Article.Status.PUBLISHED
    published_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=1))
    reviewer_name = "Clinical team"
    last_reviewed = datetime.date(2026, 1, 15)
    next_review_due = datetime.date(2027, 1, 15)

    class Params:
        draft = factory.Trait(status=Article.Status.DRAFT, published_at=None)
        scheduled = factory.Trait(
            published_at=factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=7))
        )

    @factory.post_generation
    def topics(self, create, extracted, **kwargs):
        if create and extracted:
            self.topics.set(extracted)


class FAQEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FAQEntry

    article = factory.SubFactory(ArticleFactory)
    question = factory.Sequence(lambda n: f"Question number {n}?")
    answer = "An answer that helps."
    position = factory.Sequence(lambda n: n)
