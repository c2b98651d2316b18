"""The site's own pages render with the crisis line and the clinic's phone number."""

import pytest
from django.test import override_settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["home", "privacy"])
def test_page_has_crisis_line_and_tappable_phone(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="tel:988"' in html
    assert 'href="tel:911"' in html
    assert 'href="tel:+15550100100"' in html
    assert "(555) 010-0100" in html
    assert '<html lang="en-us">' in html
    assert 'href="#main"' in html


def test_navigation_marks_current_page(client):
    html = client.get(reverse("privacy")).content.decode()
    assert 'href="/privacy/"' in html
    home = client.get(reverse("home")).content.decode()
    assert '<a href="/" aria-current="page">Home</a>' in home


def test_unknown_path_is_branded_404_with_phone_and_crisis_line(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "We can’t find that page" in html
    assert 'href="tel:988"' in html
    assert 'href="tel:+15550100100"' in html


def test_server_error_page_keeps_phone_and_crisis_line(client, settings):
    settings.ROOT_URLCONF = "tests.urls_raising"
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert 'href="tel:988"' in html
    assert 'href="tel:+15550100100"' in html


@override_settings(CLINIC_PHONE="+1 212 555 0199", CLINIC_NAME="Harbor Ketamine Clinic")
def test_clinic_details_come_from_settings_until_a_clinic_profile_exists(client):
    html = client.get(reverse("home")).content.decode()
    assert "Harbor Ketamine Clinic" in html
    assert 'href="tel:+12125550199"' in html


def test_healthz_answers_when_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")


def test_robots_txt_keeps_admin_out_and_lets_crawlers_reach_the_consultation(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert "Disallow: /admin/" in body
    # The consultation's private pages say noindex themselves: a crawler must be allowed to read it.
    assert "Disallow: /consultation/" not in body


def test_pages_send_security_headers(client):
    response = client.get(reverse("home"))
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
