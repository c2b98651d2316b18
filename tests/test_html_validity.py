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
    from tests.appointments.conftest import answers
    from tests.booking import CHECK_URL, HELP_URL, STEPS, step_data, walk

    call_command("load_clinic_content", stdout=io.StringIO())
    documents = {"__folder__": tmp_path}
    data = answers(self_harm_thoughts="yes")
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
