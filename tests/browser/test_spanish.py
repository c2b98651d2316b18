"""The Spanish site in a real browser: the switch between languages, crisis help, accessibility."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command

SHOTS = Path("/tmp/shots/es")
ARTICLE = "/learn/ketamine-for-bipolar-disorder/"


@pytest.fixture
def seeded(transactional_db):
    """The clinic's article and sample facts, committed so that the live server's thread reads them."""
    from education.services import clinic_facts_load_samples

    call_command("load_clinic_content", stdout=io.StringIO())
    clinic_facts_load_samples()


def shoot(page, name):
    if SHOTS.parent.exists():
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def test_a_phone_reader_switches_to_spanish_reads_the_article_and_switches_back(
    phone_page, live_server, seeded
):
    phone_page.goto(live_server.url + ARTICLE)
    switch = phone_page.get_by_role("link", name="Español")
    assert switch.is_visible()
    box = switch.bounding_box()
    assert box["height"] >= 44  # Large enough to tap.
    switch.click()

    phone_page.wait_for_url(live_server.url + "/es" + ARTICLE)
    assert phone_page.locator("html").get_attribute("lang") == "es"
    crisis_bar = phone_page.locator(".crisis-bar")
    assert "Llame al 988 y marque 2 para español" in crisis_bar.inner_text()
    assert "envíe AYUDA por mensaje de texto al 988" in crisis_bar.inner_text()
    # The seed article has no Spanish translation yet: it is shown in English, and says so in Spanish.
    assert phone_page.get_by_role("note").inner_text().startswith("Este artículo todavía no está disponible")
    assert phone_page.locator("article").get_attribute("lang") == "en"
    overflow = phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    shoot(phone_page, "article-390")

    phone_page.get_by_role("link", name="English").click()
    phone_page.wait_for_url(live_server.url + ARTICLE)
    assert phone_page.locator("html").get_attribute("lang") == "en-us"


def test_the_spanish_consultation_page_leads_to_crisis_help_in_spanish(phone_page, live_server, seeded):
    phone_page.goto(live_server.url + "/es/")
    phone_page.get_by_role("link", name="Solicite una consulta").first.click()
    phone_page.wait_for_url(live_server.url + "/es/consultation/")
    assert phone_page.get_by_role("heading", level=1).inner_text() == "Solicite una consulta"
    assert "Esto no es para emergencias." in phone_page.locator("main").inner_text()
    shoot(phone_page, "consultation-390")


@pytest.mark.parametrize("path", ["/es/", "/es/learn/", "/es" + ARTICLE, "/es/costs/", "/es/consultation/"])
def test_spanish_pages_have_no_wcag_violations(page, live_server, assert_accessible, seeded, path):
    page.goto(live_server.url + path)
    assert page.locator("html").get_attribute("lang") == "es"
    assert_accessible(page)
    width = page.viewport_size["width"]
    shoot(page, f"{path.strip('/').replace('/', '-') or 'home'}-{width}")
