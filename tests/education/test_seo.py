"""What search engines and feed readers get: sitemap, robots.txt and the Atom feed."""

import datetime
import xml.etree.ElementTree as ET

import pytest
from django.utils import timezone

from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db

SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
ATOM_NS = {"a": "http://www.w3.org/2005/Atom"}


def parse_xml(content):
    return ET.fromstring(content)  # noqa: S314 - the site's own sitemap and feed, not outside input


def sitemap_entries(client):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    root = parse_xml(response.content)
    return {
        url.findtext("s:loc", namespaces=SITEMAP_NS): url.findtext("s:lastmod", namespaces=SITEMAP_NS)
        for url in root.findall("s:url", SITEMAP_NS)
    }


def test_sitemap_lists_public_articles_and_pages_with_lastmod(client):
    article = ArticleFactory(slug="public-article")
    ArticleFactory(slug="draft-article", draft=True)
    ArticleFactory(slug="scheduled-article", scheduled=True)
    entries = sitemap_entries(client)
    site = "http://127.0.0.1:8000"
    assert set(entries) == {
        f"{site}/",
        f"{site}/learn/",
        f"{site}/privacy/",
        f"{site}/costs/",
        f"{site}/what-to-expect/",
        f"{site}/consultation/",
        f"{site}/learn/public-article/",
        # The site's own pages in Spanish; the article has no Spanish translation, so no Spanish address.
        f"{site}/es/",
        f"{site}/es/learn/",
        f"{site}/es/privacy/",
        f"{site}/es/costs/",
        f"{site}/es/what-to-expect/",
        f"{site}/es/consultation/",
    }
    assert entries[f"{site}/learn/public-article/"] == timezone.localdate(article.updated_at).isoformat()
    assert entries[f"{site}/learn/"] == timezone.localdate(article.updated_at).isoformat()


def test_sitemap_uses_the_clinics_address_whatever_host_asked(client, settings):
    settings.CLINIC_SITE_URL = "https://www.clinic.example"
    ArticleFactory(slug="public-article")
    assert "https://www.clinic.example/learn/public-article/" in sitemap_entries(client)


def test_robots_names_the_sitemap_keeps_staff_out_and_lets_crawlers_reach_the_consultation(client):
    lines = client.get("/robots.txt").content.decode().splitlines()
    assert "Sitemap: http://127.0.0.1:8000/sitemap.xml" in lines
    assert [line for line in lines if line.startswith("Disallow")] == ["Disallow: /admin/"]


def test_consultation_start_page_may_be_indexed(client):
    response = client.get("/consultation/")
    assert response.status_code == 200
    assert "X-Robots-Tag" not in response
    assert 'name="robots"' not in response.content.decode()


def test_feed_is_atom_with_the_public_articles_newest_first(client):
    now = timezone.now()
    ArticleFactory(title="Older article", published_at=now - datetime.timedelta(days=5))
    ArticleFactory(title="Newer article", published_at=now - datetime.timedelta(days=1))
    ArticleFactory(title="Draft article", draft=True)
    ArticleFactory(title="Scheduled article", scheduled=True)
    response = client.get("/learn/feed/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = parse_xml(response.content)
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert root.findtext("a:id", namespaces=ATOM_NS) == "http://127.0.0.1:8000/learn/"
    titles = [entry.findtext("a:title", namespaces=ATOM_NS) for entry in root.findall("a:entry", ATOM_NS)]
    assert titles == ["Newer article", "Older article"]
    entry = root.find("a:entry", ATOM_NS)
    assert entry.findtext("a:summary", namespaces=ATOM_NS) == "A short summary for lists and search engines."
    assert entry.findtext("a:updated", namespaces=ATOM_NS)
    assert entry.findtext("a:published", namespaces=ATOM_NS)


def test_feed_links_point_at_the_articles(client):
    ArticleFactory(slug="linked-article")
    root = parse_xml(client.get("/learn/feed/").content)
    (entry,) = root.findall("a:entry", ATOM_NS)
    assert entry.find("a:link", ATOM_NS).get("href") == "http://127.0.0.1:8000/learn/linked-article/"
