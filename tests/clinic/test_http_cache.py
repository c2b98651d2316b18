"""Which responses a shared HTTP cache may keep: public pages are cacheable and validated, the rest private."""

import gzip
import re

import pytest
from django.test import Client

from education.models import Article
from education.services import article_unpublish, clinic_content_load
from tests.factories import log_in_verified, make_request, make_staff
from tests.servers import free_port

pytestmark = pytest.mark.django_db

ARTICLE = "/learn/ketamine-for-bipolar-disorder/"
PUBLIC_PAGES = [
    "/",
    "/learn/",
    ARTICLE,
    "/learn/feed/",
    "/sitemap.xml",
    "/robots.txt",
    "/privacy/",
    "/costs/",
    "/what-to-expect/",
    # The booking's start page: no form, no cookie.
    "/consultation/",
]
# Pages built from the library's stored copies, which know when they were built.
DATED_PAGES = ["/", "/learn/", ARTICLE]
# Written out from the settings' comment: browsers 1 minute, shared caches 5, stale 1 more.
PUBLIC_CACHE_CONTROL = {"public", "max-age=60", "s-maxage=300", "stale-while-revalidate=60"}


@pytest.fixture(autouse=True)
def library(db):
    clinic_content_load()


def directives(response):
    return {part.strip() for part in response["Cache-Control"].split(",")}


def is_private(response):
    return {"private", "no-store"} <= directives(response) and "public" not in directives(response)


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_public_pages_may_be_kept_by_shared_caches(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert directives(response) == PUBLIC_CACHE_CONTROL
    assert response["Vary"] == "Accept-Encoding"
    assert re.fullmatch(r'"[0-9a-f]{32}"', response["ETag"])
    assert not response.cookies
    assert "Set-Cookie" not in response


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_a_visitor_with_cookies_and_another_language_gets_the_same_public_page(client, url):
    first = client.get(url)
    other = Client(HTTP_ACCEPT_LANGUAGE="es")
    other.cookies["csrftoken"] = "a" * 32
    other.cookies["seen-banner"] = "yes"
    second = other.get(url)
    assert second.content == first.content
    assert second["ETag"] == first["ETag"]
    assert directives(second) == PUBLIC_CACHE_CONTROL
    assert second["Vary"] == "Accept-Encoding"


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_a_page_the_browser_already_has_is_answered_304(client, url):
    etag = client.get(url)["ETag"]
    response = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    assert directives(response) == PUBLIC_CACHE_CONTROL
    assert client.get(url, HTTP_IF_NONE_MATCH='"0123456789abcdef0123456789abcdef"').status_code == 200


@pytest.mark.parametrize("url", DATED_PAGES)
def test_a_page_unchanged_since_a_date_is_answered_304(client, url):
    last_modified = client.get(url)["Last-Modified"]
    assert last_modified.endswith(" GMT")
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304
    assert client.get(url, HTTP_IF_MODIFIED_SINCE="Sat, 01 Jan 2000 00:00:00 GMT").status_code == 200


def test_a_gzipped_public_page_keeps_a_weak_etag_that_still_validates(client):
    response = client.get(ARTICLE, HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    assert b"Ketamine" in gzip.decompress(response.content)
    assert response["ETag"].startswith('W/"')
    assert response["Vary"] == "Accept-Encoding"
    again = client.get(ARTICLE, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_pages_are_compressed_with_random_padding_against_breach(client):
    sizes = set()
    for _ in range(5):
        response = client.get("/consultation/you/", HTTP_ACCEPT_ENCODING="gzip")
        assert response["Content-Encoding"] == "gzip"
        assert b"<form" in gzip.decompress(response.content)
        sizes.add(len(response.content))
    # Django pads each compressed response with 0 to 100 random bytes: five alike would be a fluke.
    assert len(sizes) > 1


@pytest.mark.parametrize(
    "url",
    [
        "/consultation/you/",
        "/consultation/help/",
        "/learn/?q=ketamine",
        "/learn/no-such-article/",
        "/admin/login/",
        "/healthz",
    ],
)
def test_personal_pages_searches_and_errors_are_private(client, url):
    response = client.get(url)
    assert is_private(response)
    assert "s-maxage" not in response["Cache-Control"]


def test_the_confirmation_and_status_pages_are_private(client):
    consultation_request = make_request()
    # Only the browser that sent the request sees its confirmation; any other gets a private 404.
    received = client.get(f"/consultation/received/{consultation_request.confirmation_token}/")
    assert is_private(received)
    status = client.get(consultation_request.get_status_url())
    assert status.status_code == 200
    assert is_private(status)


def test_a_post_is_never_public(client):
    # The start page is public, and refuses a POST; the steps take them, privately.
    assert is_private(client.post("/consultation/", {}))
    assert is_private(client.post("/consultation/you/", {}))


def test_staff_get_public_pages_privately(client):
    log_in_verified(client, make_staff("clinic_admin"))
    for url in ["/", ARTICLE, "/learn/"]:
        response = client.get(url)
        assert response.status_code == 200
        assert is_private(response), url


@pytest.mark.django_db(transaction=True)
def test_a_shared_cache_that_cannot_be_reached_never_stops_an_edit(client, settings, caplog):
    settings.HTTP_CACHE_PURGE_URL = f"http://127.0.0.1:{free_port()}"
    article = Article.objects.get(slug="ketamine-for-bipolar-disorder")
    client.get(ARTICLE)
    article_unpublish(article=article)
    assert client.get(ARTICLE).status_code == 404
    assert "The shared cache could not be purged: URLError." in caplog.text
