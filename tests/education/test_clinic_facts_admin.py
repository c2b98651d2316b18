"""Clinic admins edit the clinic's facts in the workspace; samples are marked until replaced."""

import pytest

from appointments.models import AuditEvent
from education.models import ClinicProfile, OpeningHours, TreatmentPrice

pytestmark = pytest.mark.django_db

PROFILE_FIELDS = [
    "name", "phone", "email", "time_zone", "street_address", "locality", "region", "postal_code",
    "consultation_fee", "consultation_fee_note", "insurance_note", "minimum_age", "first_consultation",
    "treatment_day", "aftercare", "what_to_bring", "urgent_protocol",
]  # fmt: skip
INLINES = {
    "opening_hours": (OpeningHours, ["weekday", "opens", "closes"]),
    "closures": (None, ["first_day", "last_day", "reason"]),
    "prices": (
        TreatmentPrice,
        ["kind", "position", "price", "unit", "typical_series", "series_price", "insurance"],
    ),
}


def change_url(profile):
    return f"/admin/education/clinicprofile/{profile.pk}/change/"


def form_data(profile):
    """What the change page posts back when nothing is changed."""
    data = {
        name: "" if getattr(profile, name) is None else str(getattr(profile, name)) for name in PROFILE_FIELDS
    }
    data["states_served"] = list(profile.states_served)
    for prefix, (_model, fields) in INLINES.items():
        rows = list(getattr(profile, prefix).all())
        data.update({
            f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": str(len(rows)),
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000",
        })  # fmt: skip
        for n, row in enumerate(rows):
            data[f"{prefix}-{n}-id"] = str(row.pk)
            data[f"{prefix}-{n}-profile"] = str(profile.pk)
            for name in fields:
                value = getattr(row, name)
                data[f"{prefix}-{n}-{name}"] = "" if value is None else str(value)
    return data


def test_change_page_marks_the_sample_values(staff_client, clinic_facts):
    html = staff_client.get(change_url(clinic_facts)).content.decode()
    assert "Sample values." in html
    assert "Still a sample:" in html
    assert "consultation fee (USD)" in html
    assert "sample value" in html


def test_editing_a_fact_replaces_its_sample_and_is_audited(staff_client, clinic_facts):
    data = form_data(clinic_facts)
    data["phone"] = "(212) 555-0199"
    data["states_served"] = ["NJ", "NY"]
    response = staff_client.post(change_url(clinic_facts), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    profile = ClinicProfile.objects.get()
    assert profile.phone == "(212) 555-0199"
    assert profile.states_served == ["NJ", "NY"]
    assert "phone" not in profile.sample_fields
    assert "states_served" not in profile.sample_fields
    assert "consultation_fee" in profile.sample_fields
    event = AuditEvent.objects.get()
    assert event.actor_label == "superuser"
    assert event.action == AuditEvent.Action.CHANGE
    assert event.description == "Clinic facts changed: phone, states served"
    assert "(212) 555-0199" in staff_client.get("/").content.decode()


def test_editing_a_row_replaces_that_sample_only(staff_client, clinic_facts):
    data = form_data(clinic_facts)
    saturday = OpeningHours.objects.get(weekday=5)
    index = list(clinic_facts.opening_hours.all()).index(saturday)
    data[f"opening_hours-{index}-closes"] = "14:00:00"
    response = staff_client.post(change_url(clinic_facts), data)
    assert response.status_code == 302
    saturday.refresh_from_db()
    assert (saturday.closes.hour, saturday.is_sample) == (14, False)
    assert OpeningHours.objects.filter(is_sample=True).count() == 5
    assert AuditEvent.objects.get().description == "Clinic facts changed: opening hours"


def test_a_bad_phone_or_time_zone_is_refused_with_a_message(staff_client, clinic_facts):
    data = form_data(clinic_facts)
    data["phone"] = "call us"
    data["time_zone"] = "Mars/Olympus"
    response = staff_client.post(change_url(clinic_facts), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Enter a phone number" in html
    assert "Enter a time zone such as America/New_York." in html
    assert ClinicProfile.objects.get().phone == "+15550100100"


def test_there_is_one_clinic_profile(staff_client, clinic_facts):
    assert staff_client.get("/admin/education/clinicprofile/add/").status_code == 403
    html = staff_client.get("/admin/education/clinicprofile/").content.decode()
    assert "Anti Aging and Ketamine Center" in html
