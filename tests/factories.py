"""Everything the tests and benchmarks make directly in the database: consultation requests, staff
logins, and the education library's articles, topics and questions.

Requests made here skip the form and its e-mails: they are for tests of what staff do with
requests that already exist (the form's own tests go through the form).
"""

import datetime
import itertools

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice

from appointments import targets
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


def request_fields(number=None, **overrides):
    """The fields of a complete, valid, routine request; keyword arguments replace any of them."""
    number = next(_numbers) if number is None else number
    fields = {
        "reference": new_reference(),
        "form_token": new_token(),
        "confirmation_token": new_token(),
        "first_name": FIRST_NAMES[number % len(FIRST_NAMES)],
        "last_name": LAST_NAMES[number % len(LAST_NAMES)],
        "email": f"patient{number}@example.com",
        "phone": f"+1212555{number % 10000:04d}",
        "contact_method": "phone",
        "contact_times": ["morning"],
        "date_of_birth": datetime.date(1980, 1, 1) + datetime.timedelta(days=number % 9000),
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
    fields.update(overrides)
    return fields


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
