"""Sample clinicians, consultation kinds and hours, so that a fresh machine can book a time at once.

Every row made here is marked ``is_sample`` and named "(sample)"; a clinic replaces them with its
own before going live. Loading is safe to repeat: what exists is left exactly as it is, so a
staff member's edits to a sample survive every ``make run``.
"""

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from .models import Clinician, ConsultationKind, WeeklyHours

WEEKDAYS = range(5)

SAMPLE_KINDS = [
    {
        "slug": "sample-introductory-call",
        "name": "Introductory video call (sample)",
        "description": "A free 15-minute call with a nurse about how treatment works and what comes next.",
        "duration_minutes": 15,
        "buffer_after_minutes": 5,
        "interval_minutes": 15,
        "minimum_notice_minutes": 4 * 60,
        "horizon_days": 30,
        "modality": ConsultationKind.Modality.TELEHEALTH,
    },
    {
        "slug": "sample-first-consultation",
        "name": "First consultation (sample)",
        "description": "45 minutes with a clinician, in person or by video.",
        "duration_minutes": 45,
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 15,
        "interval_minutes": 30,
        "minimum_notice_minutes": 24 * 60,
        "horizon_days": 60,
        "modality": ConsultationKind.Modality.EITHER,
    },
]

SAMPLE_CLINICIANS = [
    {
        "username": "sample-clinician-avery",
        "display_name": "Dr. Avery Sample (sample)",
        "credentials": "MD",
        "licensed_states": ["NY", "NJ", "CT"],
        "kinds": ["sample-first-consultation"],
        # Mornings and afternoons, Monday to Friday, with a lunch hour.
        "hours": [(day, "09:00", "12:00") for day in WEEKDAYS]
        + [(day, "13:00", "17:00") for day in WEEKDAYS],
    },
    {
        "username": "sample-clinician-jordan",
        "display_name": "Jordan Sample, PMHNP-BC (sample)",
        "credentials": "PMHNP-BC",
        "licensed_states": ["NY", "PA"],
        "kinds": ["sample-introductory-call", "sample-first-consultation"],
        "hours": [(day, "10:00", "18:00") for day in range(1, 6)],
    },
]

SAMPLE_TELEHEALTH = "Sample: the clinic e-mails the video link the day before. Replace with a real room link."


@dataclass
class SampleReport:
    label: str
    created: bool


def sample_schedule_load() -> list[SampleReport]:
    """Create the sample kinds and clinicians (with their hours) that do not exist yet."""
    reports = []
    with transaction.atomic():
        kinds = {}
        for fields in SAMPLE_KINDS:
            slug = fields["slug"]
            kind, created = ConsultationKind.objects.get_or_create(
                slug=slug, defaults={**fields, "is_sample": True}
            )
            kinds[slug] = kind
            reports.append(SampleReport(f"kind {slug}", created))
        users = get_user_model().objects
        for fields in SAMPLE_CLINICIANS:
            user, user_created = users.get_or_create(
                username=fields["username"],
                # A staff login nobody can sign in with: no usable password, no second factor.
                defaults={"is_staff": True, "email": f"{fields['username']}@clinic.invalid"},
            )
            if user_created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            if Clinician.objects.filter(user=user).exists():
                reports.append(SampleReport(f"clinician {fields['username']}", False))
                continue
            clinician = Clinician.objects.create(
                user=user,
                display_name=fields["display_name"],
                credentials=fields["credentials"],
                licensed_states=fields["licensed_states"],
                telehealth_instructions=SAMPLE_TELEHEALTH,
                is_sample=True,
            )
            clinician.kinds.set([kinds[slug] for slug in fields["kinds"]])
            WeeklyHours.objects.bulk_create(
                WeeklyHours(
                    clinician=clinician,
                    weekday=day,
                    starts=datetime.time.fromisoformat(starts),
                    ends=datetime.time.fromisoformat(ends),
                )
                for day, starts, ends in fields["hours"]
            )
            reports.append(SampleReport(f"clinician {fields['username']}", True))
    return reports
