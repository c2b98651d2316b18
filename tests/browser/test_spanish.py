"""The Spanish site in a real browser: the switch between languages, crisis help, accessibility."""

import io
import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from appointments.models import ConsultationRequest

# Screenshots of every page when this is set (a folder), for people to look at.
SHOTS = os.environ.get("SPANISH_SCREENSHOTS")
ARTICLE = "/learn/ketamine-for-bipolar-disorder/"


@pytest.fixture
def seeded(transactional_db):
    """The clinic's article and sample facts, committed so that the live server's thread reads them."""
    from education.services import clinic_facts_load_samples

    call_command("load_clinic_content", stdout=io.StringIO())
    clinic_facts_load_samples()


def shoot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


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


# --- Booking in Spanish -----------------------------------------------------------------------


@pytest.fixture
def spanish_schedule(settings, seeded):
    """A clinician with open times from two days on, committed for the live server's thread."""
    from tests.factories import make_clinician, make_kind

    settings.TIME_ZONE = "America/New_York"
    kind = make_kind(
        name="First consultation",
        duration_minutes=45,
        interval_minutes=60,
        minimum_notice_minutes=2 * 24 * 60,
        horizon_days=30,
    )
    make_clinician(kinds=[kind], states=["NY"], hours=[(day, "09:00", "13:00") for day in range(7)])


def book_in_spanish_to_the_safety_step(page, live_server):
    page.goto(live_server.url + "/es/consultation/")
    expect(page.get_by_role("heading", name="Solicite una consulta", level=1)).to_be_visible()
    page.get_by_role("button", name="Empezar ahora").click()
    expect(page.get_by_role("heading", name="Sus datos de contacto", level=1)).to_be_visible()
    expect(page.locator(".booking__progress")).to_have_text("Paso 1 de 5")
    expect(page.locator("label[for=id_first_name]")).to_contain_text("Nombre")
    page.locator("#id_first_name").fill("María")
    page.locator("#id_last_name").fill("Okonkwo")
    page.locator("#id_email").fill("maria@example.com")
    page.locator("#id_phone").fill("(212) 555-0199")
    page.get_by_label("Llamada telefónica").check()
    page.get_by_label("He leído el aviso de privacidad").check()
    page.get_by_label("La clínica puede comunicarse conmigo").check()
    page.get_by_role("button", name="Continuar").click()
    expect(page.locator(".booking__progress")).to_have_text("Paso 2 de 5")


def safety_question(page):
    return page.get_by_role("group", name=re.compile("pensamientos de hacerse daño"))


def where_and_visit_in_spanish(page):
    page.get_by_label("¿En qué estado estará durante la consulta?").select_option(label="New York")
    page.get_by_role("group", name="¿Tiene 18 años o más?").get_by_label("Sí", exact=True).check()
    page.get_by_role("button", name="Continuar").click()
    expect(page.locator(".booking__progress")).to_have_text("Paso 4 de 5")
    page.get_by_label("Telesalud (videollamada)").check()
    page.get_by_role("button", name="Continuar").click()


def test_a_spanish_patient_books_a_chosen_time_on_a_phone(
    phone_page, live_server, spanish_schedule, assert_accessible
):
    page = phone_page
    book_in_spanish_to_the_safety_step(page, live_server)
    assert_accessible(page)
    safety_question(page).get_by_label("No", exact=True).check()
    page.get_by_role("button", name="Continuar").click()
    where_and_visit_in_spanish(page)

    expect(page.get_by_role("heading", name="Elija una hora", level=1)).to_be_visible()
    expect(page.get_by_text("Los horarios están en")).to_be_visible()
    assert_accessible(page)
    shoot(page, "booking-times-390")
    page.locator(".open-times__day").first.get_by_role("radio").first.check()
    page.get_by_role("button", name="Continuar").click()

    expect(page.get_by_role("heading", name="Revise sus respuestas", level=1)).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Entiendo que este formulario no es para emergencias").check()
    page.get_by_role("button", name="Enviar mi solicitud").click()

    page.wait_for_url(re.compile(r"/es/consultation/received/"))
    expect(page.get_by_role("heading", name="Su consulta está programada")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "es"
    assert_accessible(page)
    shoot(page, "booking-received-390")
    booked = ConsultationRequest.objects.get()
    assert booked.language == "es"
    assert booked.appointments.count() == 1
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_a_spanish_patient_gets_crisis_help_in_spanish_right_after_the_safety_answer(
    phone_page, live_server, seeded, assert_accessible
):
    page = phone_page
    book_in_spanish_to_the_safety_step(page, live_server)
    safety_question(page).get_by_label("Sí", exact=True).check()
    page.get_by_role("button", name="Continuar").click()

    # The very next page is crisis help, in Spanish, with the Spanish line of 988.
    page.wait_for_url(re.compile(r"/es/consultation/help/"))
    expect(page.get_by_role("heading", name="Hay ayuda disponible ahora mismo", level=1)).to_be_visible()
    main = page.locator("main").inner_text()
    assert "988" in main and "741741" in main and "911" in main
    assert page.locator('main a[href="tel:988"]').count() >= 1
    assert_accessible(page)
    shoot(page, "booking-help-390")

    page.get_by_role("button", name="Continuar con su solicitud").click()
    expect(page.locator(".booking__progress")).to_have_text("Paso 3 de 5")
    where_and_visit_in_spanish(page)
    # With no clinician for New York in this test, the times page is not offered: the check page is next.
    expect(page.get_by_role("heading", name="Revise sus respuestas", level=1)).to_be_visible()
    page.get_by_label("Entiendo que este formulario no es para emergencias").check()
    page.get_by_role("button", name="Enviar mi solicitud").click()

    page.wait_for_url(re.compile(r"/es/consultation/received/"))
    expect(page.get_by_role("heading", name="Hay ayuda disponible ahora mismo").first).to_be_visible()
    assert_accessible(page)
    urgent = ConsultationRequest.objects.get()
    assert urgent.is_urgent is True and urgent.language == "es"
