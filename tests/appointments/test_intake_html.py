"""Every page of the clinical intake is valid HTML by the Nu Html Checker: each page as it opens and
with its errors shown, the crisis page, the start and the closing page."""

import pytest

from tests.factories import make_request
from tests.test_html_validity import validate

# A post that gets each page's errors shown.
BAD = {
    "about": {"date_of_birth_month": "13", "date_of_birth_day": "1", "date_of_birth_year": "1980"},
    "treatments": {"antidepressant_trials": "many"},
    "health": {"blood_pressure_systolic": "128"},
    "prescriber": {"prescriber_name": "x" * 300},
    "phq9": {"phq9_1": "7"},
    "mdq": {"mdq_1": "maybe"},
    "payment": {"payment": "insurance"},
}


@pytest.mark.django_db
def test_every_intake_page_is_valid_html(client, clinic_facts, tmp_path):
    consultation_request = make_request(is_urgent=True, self_harm_thoughts=True)
    start = consultation_request.get_intake_url()
    documents = {"__folder__": tmp_path}
    documents["start"] = client.get(start).content.decode()
    for section, bad in BAD.items():
        documents[section] = client.get(f"{start}{section}/").content.decode()
        response = client.post(f"{start}{section}/", bad)
        assert response.status_code == 200, section
        assert 'class="error-summary"' in response.content.decode(), section
        documents[f"{section}-errors"] = response.content.decode()
    documents["help-now"] = client.get(f"{start}help-now/").content.decode()
    documents["done"] = client.get(f"{start}done/").content.decode()
    assert validate(documents) == {}
