"""Every public page is valid HTML by the Nu Html Checker (npm vnu-jar)."""

import io
import json
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

VNU = Path(__file__).resolve().parents[1] / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"

PAGES = {
    "home": ("/", 200),
    "privacy": ("/privacy/", 200),
    "costs": ("/costs/", 200),
    "what_to_expect": ("/what-to-expect/", 200),
    "consultation": ("/consultation/", 200),
    "not_found": ("/no-such-page/", 404),
    "library": ("/learn/", 200),
    "article": ("/learn/ketamine-for-bipolar-disorder/", 200),
    "search": ("/learn/?q=insurance+coverage", 200),
    "search_no_match": ("/learn/?q=zebra", 200),
    "search_did_you_mean": ("/learn/?q=ketmine", 200),
    "search_pages": ("/learn/?q=spravato", 200),
    "unknown_article": ("/learn/no-such-article/", 404),
    # The Spanish site: its frame, an article still in English (marked lang="en"), the form.
    "es_home": ("/es/", 200),
    "es_library": ("/es/learn/", 200),
    "es_article": ("/es/learn/ketamine-for-bipolar-disorder/", 200),
    "es_costs": ("/es/costs/", 200),
    "es_consultation": ("/es/consultation/", 200),
    "es_not_found": ("/es/no-such-page/", 404),
}


def validate(documents):
    """Run the checker once over {name: html}; return its error messages by document name."""
    folder = documents.pop("__folder__")
    paths = []
    for name, html in documents.items():
        path = folder / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        paths.append(str(path))
    result = subprocess.run(
        ["java", "-jar", str(VNU), "--errors-only", "--format", "json", *paths],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    errors = {}
    for message in messages:
        name = Path(message.get("url", "unknown")).stem
        errors.setdefault(name, []).append(f"line {message.get('lastLine')}: {message['message']}")
    return errors


@pytest.mark.django_db
def test_public_pages_are_valid_html(client, tmp_path):
    call_command("load_clinic_content", stdout=io.StringIO())
    documents = {"__folder__": tmp_path}
    for name, (path, status) in PAGES.items():
        response = client.get(path)
        assert response.status_code == status, path
        documents[name] = response.content.decode()
    assert validate(documents) == {}


def test_the_checker_reports_errors(tmp_path):
    errors = validate({"__folder__": tmp_path, "broken": "<!doctype html><title>x</title><p><div></p>"})
    assert errors["broken"]


@pytest.mark.django_db
def test_every_booking_page_is_valid_html_blank_and_with_errors(client, tmp_path):
    from tests.booking import CHECK_URL, HELP_URL, STEPS, step_data, walk
    from tests.factories import booking_answers

    call_command("load_clinic_content", stdout=io.StringIO())
    documents = {"__folder__": tmp_path}
    data = booking_answers(self_harm_thoughts="yes")
    for step in STEPS:
        response = client.get(step.url)
        assert response.status_code == 200, step.url
        documents[f"{step.slug}"] = response.content.decode()
        # Nothing answered: every error of the step shown.
        response = client.post(step.url, {})
        assert response.status_code == 200 and "error-summary" in response.content.decode(), step.url
        documents[f"{step.slug}_errors"] = response.content.decode()
        client.post(step.url, step_data(step.section, data))
    documents["help"] = client.get(HELP_URL).content.decode()
    documents["check"] = client.get(CHECK_URL).content.decode()
    response = client.post(CHECK_URL, {})
    assert "error-summary" in response.content.decode()
    documents["check_errors"] = response.content.decode()
    response = walk(client, data, follow=True)
    assert response.status_code == 200
    documents["received_urgent"] = response.content.decode()
    assert validate(documents) == {}


@pytest.mark.django_db
def test_the_booking_times_pages_are_valid_html(client, tmp_path, settings):
    """The open times (with a second zone), with an error, after a taken time, and what follows."""
    import datetime

    from django.utils import timezone

    from appointments.forms.times import time_value
    from appointments.models import Appointment
    from appointments.services import Source, appointment_book
    from tests.booking import CHECK_URL, WHEN_URL, send_data, walk
    from tests.factories import booking_answers, make_clinician, make_kind, make_request

    settings.TIME_ZONE = "America/New_York"
    call_command("load_clinic_content", stdout=io.StringIO())
    kind = make_kind(
        name="First consultation", interval_minutes=60, minimum_notice_minutes=2880, horizon_days=30
    )
    clinician = make_clinician(
        kinds=[kind], states=["NY", "CA"], hours=[(d, "09:00", "13:00") for d in range(7)]
    )
    day = (timezone.now() + datetime.timedelta(days=3)).astimezone(timezone.get_default_timezone()).date()
    chosen = datetime.datetime.combine(day, datetime.time(10), tzinfo=timezone.get_default_timezone())
    data = booking_answers(state="NY")
    walk(client, data, stop_after="visit")
    documents = {"__folder__": tmp_path}
    # A second zone, as for a video patient from another state.
    response = client.get(f"{WHEN_URL}?zone=America/Los_Angeles")
    assert "(7:00 AM Pacific time)" in response.content.decode()
    documents["when"] = response.content.decode()
    documents["when_later"] = client.get(
        f"{WHEN_URL}?from={day + datetime.timedelta(days=7)}"
    ).content.decode()
    response = client.post(WHEN_URL, {"time": "tampered"})
    assert "That is not one of the times we offered" in response.content.decode()
    documents["when_errors"] = response.content.decode()
    client.post(WHEN_URL, {"time": time_value(chosen)})
    documents["check_with_time"] = client.get(CHECK_URL).content.decode()
    appointment_book(
        consultation_request=make_request(state="NY"),
        clinician=clinician,
        kind=kind,
        starts_at=chosen,
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
    )
    response = client.post(CHECK_URL, send_data(data))
    assert response.status_code == 409
    documents["when_taken"] = response.content.decode()
    client.post(WHEN_URL, {"time": time_value(chosen + datetime.timedelta(hours=1))})
    response = client.post(CHECK_URL, send_data(data), follow=True)
    assert "Your consultation is booked" in response.content.decode()
    documents["received_booked"] = response.content.decode()
    assert validate(documents) == {}
