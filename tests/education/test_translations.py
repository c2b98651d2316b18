"""Article translations: written and reviewed by people, shown on the Spanish site once published."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.urls import reverse

from education.models import ArticleTranslation
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db

SITE = "http://127.0.0.1:8000"
NOTE = "Este artículo todavía no está disponible en español, por eso se muestra en inglés."


def translate(article, **overrides):
    fields = {
        "article": article,
        "language": "es",
        "title": "La ketamina y el trastorno bipolar",
        "summary": "Un resumen breve en español.",
        "body": "## Primera sección\n\nPalabras cuidadosas sobre el tratamiento.",
        "status": ArticleTranslation.Status.PUBLISHED,
        "translator": "Ana Torres",
        "reviewer_name": "Dra. Marta Ruiz",
        "reviewer_credentials": "MD",
        "last_reviewed": datetime.date(2026, 11, 2),
        "next_review_due": datetime.date(2027, 11, 2),
    }
    fields.update(overrides)
    translation = ArticleTranslation(**fields)
    translation.full_clean()
    translation.save()
    return translation


def test_an_article_without_a_translation_shows_in_english_with_a_spanish_note(client):
    ArticleFactory(slug="only-english", title="Ketamine and bipolar disorder")
    html = client.get("/es/learn/only-english/").content.decode()
    assert NOTE in html
    assert '<article class="article" aria-labelledby="article-title" lang="en">' in html
    assert "Ketamine and bipolar disorder" in html
    # The English page is the one search engines should index, and no Spanish alternate is claimed.
    assert f'<link rel="canonical" href="{SITE}/learn/only-english/">' in html
    assert 'hreflang="es"' not in html


def test_a_published_translation_replaces_the_words_and_names_its_own_reviewer(client):
    article = ArticleFactory(slug="translated", title="Ketamine and bipolar disorder")
    translate(article)
    html = client.get("/es/learn/translated/").content.decode()
    assert "La ketamina y el trastorno bipolar" in html
    assert "Palabras cuidadosas sobre el tratamiento." in html
    assert "Dra. Marta Ruiz" in html
    assert "2 de noviembre de 2026" in html
    assert NOTE not in html
    assert "Ketamine and bipolar disorder" not in html
    assert f'<link rel="canonical" href="{SITE}/es/learn/translated/">' in html
    assert '"inLanguage": "es-US"' in html
    assert f'<link rel="alternate" hreflang="en" href="{SITE}/learn/translated/">' in html
    assert f'<link rel="alternate" hreflang="es" href="{SITE}/es/learn/translated/">' in html
    # The English page names the Spanish one as its alternate, and is itself unchanged.
    english = client.get("/learn/translated/").content.decode()
    assert f'<link rel="alternate" hreflang="es" href="{SITE}/es/learn/translated/">' in english
    assert "Ketamine and bipolar disorder" in english
    assert "La ketamina" not in english


def test_a_draft_translation_is_never_shown(client):
    article = ArticleFactory(slug="draft-translation", title="Ketamine and bipolar disorder")
    translate(article, status=ArticleTranslation.Status.DRAFT, reviewer_name="", last_reviewed=None)
    html = client.get("/es/learn/draft-translation/").content.decode()
    assert NOTE in html
    assert "La ketamina" not in html


def test_the_spanish_library_lists_translated_titles_and_marks_english_ones(client):
    translated = ArticleFactory(slug="one", title="English title one")
    ArticleFactory(slug="two", title="English title two")
    translate(translated, title="Título en español")
    html = client.get("/es/learn/").content.decode()
    assert "Título en español" in html
    assert "English title one" not in html
    assert (
        '<h3 class="article-card__title" lang="en"><a href="/es/learn/two/">English title two</a></h3>'
        in html
    )


def test_a_published_translation_needs_its_clinical_review():
    article = ArticleFactory()
    with pytest.raises(ValidationError) as refused:
        translate(article, reviewer_name="", last_reviewed=None)
    assert set(refused.value.message_dict) == {"reviewer_name", "last_reviewed"}
    with pytest.raises(IntegrityError):
        ArticleTranslation.objects.create(
            article=article, title="t", summary="s", body="b", status="published", last_reviewed=None
        )


def test_saving_a_translation_makes_the_cached_spanish_page_stale(client):
    article = ArticleFactory(slug="cached", title="Ketamine and bipolar disorder")
    assert NOTE in client.get("/es/learn/cached/").content.decode()
    translate(article)
    assert "La ketamina y el trastorno bipolar" in client.get("/es/learn/cached/").content.decode()


def test_the_sitemap_lists_the_spanish_address_of_translated_articles_only(client):
    translate(ArticleFactory(slug="in-spanish"))
    ArticleFactory(slug="english-only")
    xml = client.get("/sitemap.xml").content.decode()
    assert f"<loc>{SITE}/es/learn/in-spanish/</loc>" in xml
    assert f"<loc>{SITE}/es/learn/english-only/</loc>" not in xml
    assert f'<xhtml:link rel="alternate" hreflang="es" href="{SITE}/es/learn/in-spanish/"/>' in xml


def test_editors_list_translations_in_few_queries(staff_client, django_assert_max_num_queries):
    for number in range(5):
        translate(ArticleFactory(slug=f"article-{number}"))
    url = reverse("admin:education_articletranslation_changelist")
    with django_assert_max_num_queries(12):
        response = staff_client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count("La ketamina y el trastorno bipolar") == 5
