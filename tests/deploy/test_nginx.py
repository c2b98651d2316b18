"""deploy/nginx.conf in front of a live server: public pages come from the cache, nothing personal does."""

import gzip
import time
import urllib.error
import urllib.request

import pytest

from education.models import Article, library_content_changed
from tests.factories import log_in_verified, make_staff
from tests.servers import get

from .conftest import Visitor

pytestmark = pytest.mark.slow

ARTICLE = "/learn/ketamine-for-bipolar-disorder/"
TITLE = "How Ketamine for Bipolar Disorder Treatment Works"


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


def test_a_copy_is_stored_only_for_the_query_strings_a_page_uses(proxy, app_requests):
    # Any other query string goes to the app every time, and nothing is stored for it: a stranger
    # cannot fill the cache with copies of one page (nor push the real pages out of it).
    for target in ["/learn/?utm_source=mail", "/learn/?x=1", "/?q=1", ARTICLE + "?page=2", "/%6cearn/"]:
        for _ in range(2):
            status, headers, _html = fetch(proxy + target)
            assert status == 200, target
            assert headers["X-Cache-Status"] == "BYPASS", target
    assert len(app_requests) == 10
    # The start page's link from an article (?from=<its slug>) is a page of its own, stored once.
    start = "/consultation/?from=ketamine-for-bipolar-disorder"
    assert fetch(proxy + start)[1]["X-Cache-Status"] == "MISS"
    status, headers, html = fetch(proxy + start)
    assert (status, headers["X-Cache-Status"]) == (200, "HIT")
    assert "from=ketamine-for-bipolar-disorder" in html
    # ...and the plain page is stored as before.
    fetch(proxy + "/learn/")
    assert fetch(proxy + "/learn/")[1]["X-Cache-Status"] == "HIT"
    # A search is the app's, every time (its page is private, no-store).
    for _ in range(2):
        status, headers, _html = fetch(proxy + "/learn/?q=ketamine")
        assert status == 200
        assert headers["X-Cache-Status"] != "HIT"


def test_a_form_posted_through_a_port_other_than_443_passes_the_csrf_origin_check(proxy):
    # A browser sends the port in Host and in Origin; Django compares the two (nginx's $host drops it).
    visitor = Visitor(proxy)
    origin = proxy  # http://127.0.0.1:<port>
    response = visitor.post_form(
        "/consultation/you/", {}, headers={"Origin": origin, "Referer": origin + "/"}
    )
    assert response.status == 200  # the form again, with what is missing: not the CSRF refusal
    assert "Please send the form again" not in response.text
    # A foreign origin is still refused.
    refused = visitor.post_form("/consultation/you/", {}, headers={"Origin": "http://evil.example"})
    assert refused.status == 403
