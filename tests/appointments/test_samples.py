"""The sample clinicians, kinds and hours that make run loads."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from appointments.models import Clinician, ConsultationKind, WeeklyHours
from appointments.slots import open_slots

pytestmark = pytest.mark.django_db


def test_the_samples_are_marked_and_can_be_booked_within_a_week():
    call_command("load_sample_clinicians")

    assert set(Clinician.objects.values_list("display_name", "is_sample")) == {
        ("Dr. Avery Sample (sample)", True),
        ("Jordan Sample, PMHNP-BC (sample)", True),
    }
    assert set(ConsultationKind.objects.values_list("name", "is_sample")) == {
        ("Introductory video call (sample)", True),
        ("First consultation (sample)", True),
    }
    assert not any(
        clinician.user.has_usable_password() for clinician in Clinician.objects.select_related("user")
    )
    first = ConsultationKind.objects.get(slug="sample-first-consultation")
    now = timezone.now()
    slots = open_slots(kind=first, now=now, state="NY", days=8)
    assert slots, "a patient in New York can book a first consultation within the next week"
    assert all(slot.starts_at >= now + datetime.timedelta(hours=24) for slot in slots)
    assert open_slots(kind=first, now=now, state="TX") == []


def test_loading_again_changes_nothing_and_keeps_staff_edits(capsys):
    call_command("load_sample_clinicians")
    avery = Clinician.objects.get(user__username="sample-clinician-avery")
    avery.display_name = "Dr. Avery Rivera"
    avery.save()
    avery.weekly_hours.filter(weekday=4).delete()
    hours = WeeklyHours.objects.count()

    call_command("load_sample_clinicians")

    assert Clinician.objects.count() == 2
    assert ConsultationKind.objects.count() == 2
    assert WeeklyHours.objects.count() == hours
    assert Clinician.objects.get(pk=avery.pk).display_name == "Dr. Avery Rivera"
    assert "already there, left as it is" in capsys.readouterr().out
