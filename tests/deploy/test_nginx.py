"""deploy/nginx.conf in front of a live server: public pages come from the cache, nothing personal does."""

import gzip
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.core.signals import request_started

from education.models import Article, library_content_changed
from education.services import clinic_content_load
from tests.factories import log_in_verified, make_staff
from tests.nginx import nginx_cache
from tests.servers import get

ARTICLE = "/learn/ketamine-for-bipolar-disorder/"
TITLE = "How Ketamine for Bipolar Disorder Treatment Works"


@pytest.fixture
def app_requests():
    """The paths the app (the live server) was asked for, in order."""
    seen = []

    def count(sender, environ, **kwargs):
        seen.append(environ["PATH_INFO"])

    request_started.connect(count, weak=False)
    yield seen
    request_started.disconnect(count)


@pytest.fixture
def proxy(live_server, transactional_db, tmp_path, settings):
    clinic_content_load()
    upstream = urllib.parse.urlsplit(live_server.url).netloc
    with nginx_cache(upstream, tmp_path / "nginx") as (base, purge_base):
        settings.HTTP_CACHE_PURGE_URL = purge_base
        yield base


def send(url, *, method, data=None, headers=None):
    """Any request; (status, headers, body) for every status, errors included."""
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def fetch(url, **headers):
    status, response_headers, body = get(url, headers=headers)
    if response_headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return status, response_headers, body.decode()


def test_a_second_request_for_the_article_never_reaches_the_app(proxy, app_requests):
    first = fetch(proxy + ARTICLE, **{"Accept-Encoding": "gzip"})
    assert first[0] == 200
    assert first[1]["X-Cache-Status"] == "MISS"
    assert app_requests == [ARTICLE]
    second = fetch(proxy + ARTICLE, **{"Accept-Encoding": "gzip"})
    assert second[1]["X-Cache-Status"] == "HIT"
    assert second[2] == first[2]
    assert TITLE in second[2]
    assert app_requests == [ARTICLE]


def test_an_anonymous_visitor_with_a_csrf_cookie_still_gets_the_stored_page(proxy, app_requests):
    fetch(proxy + ARTICLE)
    status, headers, html = fetch(proxy + ARTICLE, Cookie="csrftoken=" + "a" * 32)
    assert status == 200
    assert headers["X-Cache-Status"] == "HIT"
    assert TITLE in html
    assert app_requests == [ARTICLE]


def test_a_client_without_gzip_gets_the_stored_page_unzipped(proxy, app_requests):
    fetch(proxy + ARTICLE, **{"Accept-Encoding": "gzip"})
    status, headers, body = get(proxy + ARTICLE)
    assert headers["X-Cache-Status"] == "HIT"
    assert "Content-Encoding" not in headers
    assert TITLE in body.decode()
    assert app_requests == [ARTICLE]


def test_staff_never_get_a_stored_page(proxy, app_requests, client):
    fetch(proxy + ARTICLE)
    log_in_verified(client, make_staff("clinic_admin"))
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    for _ in range(2):
        status, headers, _html = fetch(proxy + ARTICLE, Cookie=cookie)
        assert status == 200
        assert headers["X-Cache-Status"] == "BYPASS"
        assert "private" in headers["Cache-Control"]
    assert app_requests == [ARTICLE] * 3
    # ...and what staff were sent was not stored for anyone else.
    assert fetch(proxy + ARTICLE)[1]["X-Cache-Status"] == "HIT"


def test_a_post_and_the_form_are_never_answered_from_the_cache(proxy, app_requests):
    fetch(proxy + ARTICLE)
    for _ in range(2):
        status, headers, _body = send(proxy + ARTICLE, method="POST", data=b"q=1")
        assert status == 403  # Django's CSRF check refuses it before anything else
        assert "X-Cache-Status" not in headers
        assert send(proxy + "/consultation/you/", method="POST", data=b"name=x")[0] == 403  # no CSRF token
        assert fetch(proxy + "/consultation/you/")[1]["X-Cache-Status"] == "MISS"
    assert app_requests == [ARTICLE] + [ARTICLE, "/consultation/you/", "/consultation/you/"] * 2
    assert fetch(proxy + ARTICLE)[1]["X-Cache-Status"] == "HIT"


def test_an_edit_shows_at_once_when_the_app_purges_the_cache(proxy, app_requests, settings):
    fetch(proxy + ARTICLE)
    fetch(proxy + "/learn/")
    assert fetch(proxy + ARTICLE)[1]["X-Cache-Status"] == "HIT"
    Article.objects.filter(slug="ketamine-for-bipolar-disorder").update(title="Ketamine and bipolar disorder")
    library_content_changed()
    for path in (ARTICLE, "/learn/"):
        _status, headers, html = fetch(proxy + path)
        assert headers["X-Cache-Status"] == "MISS"
        assert "Ketamine and bipolar disorder" in html
        assert TITLE not in html


def test_an_edit_shows_once_the_stored_copy_expires_without_a_purge(proxy, app_requests, settings):
    settings.HTTP_CACHE_PURGE_URL = ""
    settings.PUBLIC_PAGE_SHARED_MAX_AGE = 1
    settings.PUBLIC_PAGE_STALE_WHILE_REVALIDATE = 1
    fetch(proxy + ARTICLE)
    Article.objects.filter(slug="ketamine-for-bipolar-disorder").update(title="Ketamine and bipolar disorder")
    library_content_changed()
    # Not purged: the stored copy is served until it expires...
    _status, headers, html = fetch(proxy + ARTICLE)
    assert headers["X-Cache-Status"] == "HIT"
    assert TITLE in html
    # ...and after its s-maxage and stale-while-revalidate, never again (nginx counts whole seconds).
    time.sleep(1 + 1 + 1.5)
    _status, headers, html = fetch(proxy + ARTICLE)
    assert "Ketamine and bipolar disorder" in html
    assert headers["X-Cache-Status"] in ("EXPIRED", "MISS")
