"""The patient's pages in Spanish under /es/, chosen by the address alone; English pages as they were."""

import pytest

from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db

SITE = "http://127.0.0.1:8000"
SPANISH_CRISIS_BAR = (
    '¿Está en crisis? Llame al <a href="tel:988">988</a> y marque 2 para español, '
    'o envíe AYUDA por mensaje de texto al <a href="sms:988">988</a>, a cualquier hora.'
)
SPANISH_EMERGENCY = 'En una emergencia, llame al <a href="tel:911">911</a>.'

# Each Spanish page, and a heading or sentence only its Spanish version has.
SPANISH_PAGES = {
    "/es/": "Tratamiento con ketamina, con atención en cada paso",
    "/es/learn/": "Aprenda sobre el tratamiento con ketamina",
    "/es/costs/": "Costos y seguro médico",
    "/es/what-to-expect/": "Qué esperar",
    "/es/privacy/": "Qué recopilamos",
    "/es/consultation/": "Esto no es para emergencias.",
}


@pytest.mark.parametrize(("path", "spanish_text"), SPANISH_PAGES.items())
def test_spanish_pages_are_in_spanish_with_spanish_crisis_help(client, path, spanish_text):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="es">' in html
    assert spanish_text in html
    assert SPANISH_CRISIS_BAR in html
    assert SPANISH_EMERGENCY in html
    assert "Necesita ayuda ahora?" in html
    assert "envíe AYUDA por mensaje de texto al" in html
    assert "Skip to main content" not in html
    assert "Ir al contenido principal" in html
    # The plain link back to the same page in English.
    english = path.removeprefix("/es")
    assert f'<a class="site-language" href="{english}" hreflang="en" lang="en">English</a>' in html


@pytest.mark.parametrize(
    "path", ["/", "/learn/", "/costs/", "/what-to-expect/", "/privacy/", "/consultation/"]
)
def test_english_pages_keep_their_addresses_and_vary_on_nothing_but_the_encoding(client, path):
    # A browser that prefers Spanish still gets the English page at the English address.
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9")
    assert response.status_code == 200
    assert "Accept-Language" not in response.get("Vary", "")
    html = response.content.decode()
    assert '<html lang="en-us">' in html
    assert 'In crisis? Call or text <a href="tel:988">988</a> any time.' in html
    assert f'<a class="site-language" href="/es{path}" hreflang="es" lang="es">Español</a>' in html


def test_public_pages_in_both_languages_are_shared_cacheable_and_vary_only_on_encoding(client):
    for path in ["/", "/es/", "/es/learn/"]:
        response = client.get(path)
        assert response["Vary"] == "Accept-Encoding", path
        assert "public" in response["Cache-Control"], path


def test_a_language_cookie_or_header_never_changes_the_english_page(client):
    client.cookies["django_language"] = "es"
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '<html lang="en-us">' in html
    assert "Tratamiento con ketamina" not in html


def test_pages_name_each_other_as_hreflang_alternates(client):
    html = client.get("/es/costs/").content.decode()
    assert f'<link rel="alternate" hreflang="en" href="{SITE}/costs/">' in html
    assert f'<link rel="alternate" hreflang="es" href="{SITE}/es/costs/">' in html
    assert f'<link rel="alternate" hreflang="x-default" href="{SITE}/costs/">' in html


def test_a_spanish_search_keeps_its_terms_in_the_switch_to_english(client):
    html = client.get("/es/learn/?q=seguro").content.decode()
    assert '<a class="site-language" href="/learn/?q=seguro" hreflang="en" lang="en">English</a>' in html


def test_the_spanish_not_found_page_is_in_spanish(client):
    response = client.get("/es/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "No encontramos esa página" in html
    assert SPANISH_CRISIS_BAR in html


def test_the_staff_workspace_has_no_spanish_address(client):
    assert client.get("/es/admin/").status_code == 404
    assert client.get("/es/healthz").status_code == 404


def test_dates_in_spanish_read_as_spanish_speakers_write_them(client):
    ArticleFactory(slug="dated", last_reviewed="2026-12-01", next_review_due="2027-06-01")
    html = client.get("/es/learn/dated/").content.decode()
    assert "1 de diciembre de 2026" in html
    assert "December 1, 2026" not in html


def test_spanish_prices_are_written_as_dollars_are_in_the_united_states(client, clinic_facts):
    html = client.get("/es/costs/").content.decode()
    assert "unos $2,700 en total" in html
    assert "$2\xa0700" not in html and "$2.700" not in html


@pytest.mark.parametrize(
    "path", ["//evil.example/", "//evil.example/learn/", "/\\evil.example/", "///evil.example/"]
)
def test_the_language_links_of_an_address_with_a_host_in_it_stay_on_this_site(client, path):
    # The test client would read "//host/" as a host; a server passes the path on as it came.
    response = client.get("/", PATH_INFO=path)
    assert response.status_code == 404
    html = response.content.decode()
    assert "evil.example" not in html
    assert 'href="//' not in html
    assert 'href="/\\' not in html
