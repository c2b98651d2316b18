"""Wrong requests get the right 4xx, on the site's own page: never a 500, never a bare error."""

import re

import pytest
from django.conf import settings
from django.test import Client

from appointments.models import BookingDraft, ConsultationRequest
from tests.booking import step_data, walk
from tests.factories import ArticleFactory
from tests.servers import SECRET_KEY, database_url, production_env

from .conftest import Browser, marked_answers, serve

pytestmark = pytest.mark.django_db

HEADINGS = {
    400: "We couldn’t read that request",
    403: "Please send the form again",
    404: "We can’t find that page",
    405: "This page can’t do that",
}


def assert_branded(status, page, expected_status):
    """The site's frame (name, phone, crisis line) around the page for this status."""
    assert status == expected_status
    assert "<!doctype html>" in page[:100].lower()
    assert settings.CLINIC_NAME in page
    assert 'href="tel:988"' in page
    assert 'href="tel:+15550100100"' in page
    assert HEADINGS[expected_status] in page
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert settings.CLINIC_NAME in title


@pytest.fixture
def pages(client, settings):
    """Every kind of public page, with a request to give the confirmation and status pages."""
    settings.CONSULTATION_RATE_LIMIT = "1000/m"
    article = ArticleFactory(slug="a-published-article")
    walk(client, marked_answers())
    consultation_request = ConsultationRequest.objects.get()
    return [
        "/",
        "/privacy/",
        "/learn/",
        article.get_absolute_url(),
        "/consultation/",
        consultation_request.get_absolute_url(),
        consultation_request.get_status_url(),
        "/robots.txt",
        "/sitemap.xml",
        "/learn/feed/",
        "/healthz",
    ]


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_methods_no_page_takes_get_a_branded_405_with_allow(client, pages, method):
    for path in pages:
        response = getattr(client, method)(path, data="x=1", content_type="application/x-www-form-urlencoded")
        assert_branded(response.status_code, response.content.decode(), 405)
        assert "GET" in response["Allow"], path
        assert method.upper() not in response["Allow"], path
        assert "default-src 'none'" in response["Content-Security-Policy"], path


def test_posting_to_a_read_only_page_is_a_branded_405(client, pages):
    for path in ["/", "/privacy/", "/learn/", pages[3], pages[5], "/sitemap.xml", "/learn/feed/"]:
        response = client.post(path, {"q": "x"})
        assert_branded(response.status_code, response.content.decode(), 405)
        assert "POST" not in response["Allow"], path


def test_a_body_over_the_upload_limit_is_a_branded_400_and_saves_nothing(client):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 2_621_440
    answers = marked_answers(concern_other="x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1))
    response = client.post("/consultation/you/", answers)
    assert_branded(response.status_code, response.content.decode(), 400)
    assert ConsultationRequest.objects.count() == 0


def test_too_many_fields_is_a_branded_400(client):
    fields = {f"field{n}": "x" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = client.post("/consultation/you/", {**marked_answers(), **fields})
    assert_branded(response.status_code, response.content.decode(), 400)
    assert ConsultationRequest.objects.count() == 0


def test_a_huge_query_string_is_a_branded_400_too(client):
    query = "&".join(f"f{n}=x" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = client.get(f"/learn/?{query}")
    assert_branded(response.status_code, response.content.decode(), 400)


def test_a_form_without_its_csrf_token_is_a_branded_403_and_saves_nothing():
    browser = Client(enforce_csrf_checks=True)
    browser.get("/consultation/you/")
    response = browser.post("/consultation/you/", marked_answers())
    assert_branded(response.status_code, response.content.decode(), 403)
    assert "Nothing was saved" in response.content.decode()
    assert ConsultationRequest.objects.count() == 0


def test_a_cancel_without_its_csrf_token_is_a_branded_403(client, pages):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(pages[6])
    assert_branded(response.status_code, response.content.decode(), 403)
    assert ConsultationRequest.objects.get().status == ConsultationRequest.Status.NEW


@pytest.mark.parametrize(
    "query",
    [
        "q=%ZZ",
        "q=%",
        "q=%E2%82",
        "q=%FF%FE%00",
        "q=%00",
        "q[]=x",
        "q=a&q=b",
        "q",
        "=x",
        "&&&",
        "page=abc",
        "page=-1",
        "page=99999999999999999999",
        "topic=%0d%0aSet-Cookie:x=1",
        "q=" + "ketamine " * 2000,
        "q=" + "%F0%9F%92%8A" * 3000,
        "q=" + "(" * 500 + "ketamine",
        "q=!!!:*%26%7C%3C-%3E",
        "q=\\'\";--",
    ],
)
def test_malformed_query_strings_on_the_library_never_fail(client, query):
    response = client.get(f"/learn/?{query}")
    assert response.status_code == 200
    assert "Learn about ketamine treatment" in response.content.decode()


@pytest.mark.parametrize("query", ["from=%ZZ", "from=%00", "from[]=x", "from=" + "a" * 5000, "from=../../"])
def test_malformed_query_strings_on_the_form_never_fail(client, query):
    response = client.get(f"/consultation/?{query}")
    assert response.status_code == 200
    assert (
        '<a class="btn btn-primary btn-lg" href="/consultation/you/" role="button"'
        in response.content.decode()
    )
    assert client.get(f"/consultation/you/?{query}").status_code == 200
    response = client.post(f"/consultation/you/?{query}", step_data("contact", marked_answers()))
    assert response.status_code == 302
    assert BookingDraft.objects.get().source_article_slug == ""


@pytest.mark.parametrize(
    "path",
    [
        "/consultation/received/not-a-token/",
        "/consultation/received/%00/",
        "/consultation/status/forged:signature/",
        "/consultation/status/" + "A" * 5000 + "/",
        "/learn/%ZZ/",
        "/learn/" + "a" * 300 + "/",
        "/learn/..%2F..%2Fetc%2Fpasswd/",
    ],
)
def test_malformed_paths_are_a_branded_404(client, path):
    response = client.get(path)
    assert_branded(response.status_code, response.content.decode(), 404)


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.evil.example", "bad host", "[::1"])
def test_a_host_not_allowed_is_a_branded_400(client, host):
    response = client.get("/", headers={"host": host})
    assert_branded(response.status_code, response.content.decode(), 400)


def csrf_headers(browser, base):
    """What a browser sends back after loading the form over HTTPS: the CSRF cookie, token and Referer.

    The cookie is Secure, so it is copied by hand onto the plain-HTTP hop the proxy would make.
    """
    status, headers, page = browser.request(f"{base}/consultation/you/", headers=HTTPS)
    assert status == 200
    cookie = re.search(r"csrftoken=([^;]+)", headers["Set-Cookie"]).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    return {
        **HTTPS,
        "Cookie": f"csrftoken={cookie}",
        "X-CSRFToken": token,
        "Referer": f"https://{base.removeprefix('http://')}/consultation/",
    }


HTTPS = {"X-Forwarded-Proto": "https"}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_production_server_answers_wrong_requests_with_branded_pages(tmp_path):
    """The same, end to end, through gunicorn with production settings behind a TLS proxy."""
    env = production_env(
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url(),
        TRUST_X_FORWARDED_PROTO="true",
        STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",
    )
    with serve(env, log_path=tmp_path / "server.log") as base:
        browser = Browser()
        with_csrf = csrf_headers(browser, base)
        huge = b"current_medications=" + b"x" * (2_621_440 + 1)
        cases = [
            (browser.request(f"{base}/consultation/", method="PUT", data=b"x=1", headers=with_csrf), 405),
            (browser.request(f"{base}/learn/", method="DELETE", headers=with_csrf), 405),
            (browser.request(f"{base}/learn/", method="OPTIONS", headers=HTTPS), 405),
            (browser.request(f"{base}/", headers={**HTTPS, "Host": "evil.example"}), 400),
            (browser.request(f"{base}/consultation/you/", data=marked_answers(), headers=HTTPS), 403),
            (browser.request(f"{base}/consultation/you/", data=huge, headers=with_csrf), 400),
            (browser.request(f"{base}/learn/no-such-article/", headers=HTTPS), 404),
        ]
        for (status, headers, page), expected in cases:
            assert_branded(status, page, expected)
            assert "default-src 'none'" in headers["Content-Security-Policy"]
            assert headers["Strict-Transport-Security"].startswith("max-age=")
        status, _headers, _page = browser.request(f"{base}/learn/?q=%ZZ&q[]=x&page=abc", headers=HTTPS)
        assert status == 200
    assert ConsultationRequest.objects.count() == 0
