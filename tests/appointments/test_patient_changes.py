"""The services behind the patient's own changes: moving and cancelling until the cut-off."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from appointments.models import Appointment, AuditEvent, ConsultationRequest
from appointments.services import (
    SlotTaken,
    Source,
    appointment_book,
    appointment_cancel,
    appointment_move,
)
from tests.factories import make_clinician, make_request, make_staff

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
MONDAY = 0
NOW = datetime.datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TEN = datetime.datetime(2026, 6, 1, 14, 0, tzinfo=UTC)  # Monday 1 June, 10:00 New York time
ELEVEN = TEN + datetime.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _clinic_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"
    settings.APPOINTMENT_PATIENT_CHANGE_CUTOFF_HOURS = 24


def clinician_for(kind, name, states=("NY",)):
    return make_clinician(kinds=[kind], states=states, hours=[(MONDAY, "09:00", "13:00")], display_name=name)


def book(kind, clinician, starts_at, **fields):
    return appointment_book(
        consultation_request=make_request(state="NY", **fields),
        clinician=clinician,
        kind=kind,
        starts_at=starts_at,
        modality=Appointment.Modality.IN_PERSON,
        source=Source.PATIENT,
        now=NOW,
    )


def test_the_patients_clinician_is_kept_when_free(kind):
    reyes, other = clinician_for(kind, "Dr. Reyes"), clinician_for(kind, "Dr. Other")
    appointment = book(kind, reyes, TEN)
    moved = appointment_move(source=Source.PATIENT, appointment=appointment, starts_at=ELEVEN, now=NOW)
    assert (moved.starts_at, moved.clinician_id, moved.sequence) == (ELEVEN, reyes.pk, 1)
    assert other.appointments.count() == 0


def test_another_licensed_clinician_takes_a_time_the_patients_clinician_cannot(kind):
    reyes = clinician_for(kind, "Dr. Reyes")
    chen = clinician_for(kind, "Dr. Chen")
    clinician_for(kind, "Dr. Far Away", states=["CA"])
    appointment = book(kind, reyes, TEN)
    book(kind, reyes, ELEVEN)
    moved = appointment_move(source=Source.PATIENT, appointment=appointment, starts_at=ELEVEN, now=NOW)
    assert (moved.starts_at, moved.clinician_id) == (ELEVEN, chen.pk)
    assert "with Dr. Chen" in AuditEvent.objects.filter(actor_label="patient").latest("pk").description


def test_a_time_nobody_is_free_for_is_refused_with_the_nearest_open_times(kind):
    reyes = clinician_for(kind, "Dr. Reyes")
    appointment = book(kind, reyes, TEN)
    book(kind, reyes, ELEVEN)
    with pytest.raises(SlotTaken) as taken:
        appointment_move(source=Source.PATIENT, appointment=appointment, starts_at=ELEVEN, now=NOW)
    # 09:00 and 12:00 that Monday, 09:00 the next; never the patient's own 10:00.
    assert [slot.starts_at for slot in taken.value.nearest] == [
        datetime.datetime(2026, 6, 1, 13, 0, tzinfo=UTC),
        datetime.datetime(2026, 6, 1, 16, 0, tzinfo=UTC),
        datetime.datetime(2026, 6, 8, 13, 0, tzinfo=UTC),
    ]
    appointment.refresh_from_db()
    assert (appointment.starts_at, appointment.sequence) == (TEN, 0)


def test_the_exclusion_constraint_settles_a_race_the_checks_missed(kind, monkeypatch):
    """Both checks read the time as open; PostgreSQL refuses the overlap and the patient hears so."""
    import appointments.services.patient_changes as patient_changes
    import appointments.services.scheduling as scheduling

    reyes = clinician_for(kind, "Dr. Reyes")
    appointment = book(kind, reyes, TEN)
    stale = patient_changes.patient_open_slots(appointment=appointment, now=NOW, first_day=None, days=None)
    book(kind, reyes, ELEVEN)
    monkeypatch.setattr(scheduling, "patient_open_slots", lambda **kwargs: stale)
    monkeypatch.setattr(scheduling, "slot_is_open", lambda **kwargs: True)
    with pytest.raises(SlotTaken):
        appointment_move(source=Source.PATIENT, appointment=appointment, starts_at=ELEVEN, now=NOW)
    appointment.refresh_from_db()
    assert (appointment.starts_at, appointment.sequence) == (TEN, 0)
    assert not AuditEvent.objects.filter(description__startswith="Moved").exists()


def test_no_change_after_the_cut_off(kind):
    reyes = clinician_for(kind, "Dr. Reyes")
    appointment = book(kind, reyes, TEN)
    late = TEN - datetime.timedelta(hours=23)
    with pytest.raises(ValidationError, match="less than 24 hours away") as refused:
        appointment_move(source=Source.PATIENT, appointment=appointment, starts_at=ELEVEN, now=late)
    assert "(555) 010-0100" in refused.value.messages[0]
    with pytest.raises(ValidationError, match="less than 24 hours away"):
        appointment_cancel(source=Source.PATIENT, appointment=appointment, keep_request=True, now=late)
    # One minute before the cut-off, it may still be cancelled.
    just_in_time = TEN - datetime.timedelta(hours=24, minutes=1)
    cancelled = appointment_cancel(
        source=Source.PATIENT, appointment=appointment, keep_request=True, now=just_in_time
    )
    assert cancelled.status == Appointment.Status.CANCELLED


def test_cancelling_keeps_or_withdraws_the_request(kind):
    reyes = clinician_for(kind, "Dr. Reyes")
    first = book(kind, reyes, TEN)
    second = book(kind, reyes, ELEVEN)
    appointment_cancel(source=Source.PATIENT, appointment=first, keep_request=True, reason="time", now=NOW)
    appointment_cancel(source=Source.PATIENT, appointment=second, keep_request=False, now=NOW)
    first.consultation_request.refresh_from_db()
    second.consultation_request.refresh_from_db()
    assert first.consultation_request.status == ConsultationRequest.Status.CONTACTED
    assert second.consultation_request.status == ConsultationRequest.Status.CANCELLED_BY_PATIENT
    assert set(Appointment.objects.values_list("status", flat=True)) == {"cancelled"}
    with pytest.raises(ValidationError, match="cancelled already"):
        appointment_cancel(
            source=Source.PATIENT,
            appointment=Appointment.objects.get(pk=first.pk),
            keep_request=True,
            now=NOW,
        )


def test_a_consultation_typed_in_by_hand_is_changed_by_phone(settings):
    settings.APPOINTMENT_PATIENT_CHANGE_CUTOFF_HOURS = 0
    appointment = appointment_book(
        consultation_request=make_request(),
        starts_at=datetime.datetime.now(UTC) + datetime.timedelta(days=3),
        duration_minutes=60,
        modality=Appointment.Modality.IN_PERSON,
        location="100 Main Street",
        source=Source.STAFF,
        by=make_staff("front_desk"),
    )
    with pytest.raises(ValidationError, match="only be changed by phone"):
        appointment_move(
            source=Source.PATIENT,
            appointment=appointment,
            starts_at=appointment.starts_at + datetime.timedelta(hours=1),
        )
