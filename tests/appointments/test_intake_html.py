"""Every page of the clinical intake is valid HTML by the Nu Html Checker: each page as it opens and
with its errors shown, the crisis page, the start and the closing page; a saved page with its answers
hidden, with a date of birth that does not match, and shown after the right one."""

import datetime

import pytest
from django.test import Client

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
    # Nothing answered yet, so that every page asks every question (the date of birth included).
    consultation_request = make_request(
        is_urgent=True,
        self_harm_thoughts=True,
        date_of_birth=None,
        episode="",
        antidepressant_trials="",
        treatment_preference="",
        payment="",
    )
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

    # Saved pages seen from another browser: hidden, a wrong date of birth, then shown.
    saved = make_request(current_medications="lithium 300 mg").get_intake_url()
    other = Client()
    for section in ["about", "health", "payment"]:
        documents[f"{section}-hidden"] = other.get(f"{saved}{section}/").content.decode()
    wrong = {"intake_action": "confirm", "confirm-date_of_birth_month": "1", "confirm-date_of_birth_day": "2"}
    documents["health-confirm-error"] = other.post(f"{saved}health/", wrong).content.decode()
    assert 'class="error-summary"' in documents["health-confirm-error"]
    right = make_request(date_of_birth=datetime.date(1980, 5, 6)).get_intake_url()
    other.post(
        f"{right}about/",
        {
            "intake_action": "confirm",
            "confirm-date_of_birth_month": "5",
            "confirm-date_of_birth_day": "6",
            "confirm-date_of_birth_year": "1980",
        },
    )
    documents["about-shown"] = other.get(f"{right}about/").content.decode()
    assert 'value="1980"' in documents["about-shown"]
    assert validate(documents) == {}
