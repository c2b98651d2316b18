"""Every response through deploy/nginx.conf carries the site's security headers, once: Django's
pages, gunicorn's own errors (a 414) and nginx's own (400, 413, 414, 502); and nginx names no version."""

import pytest

from tests.nginx import nginx_cache
from tests.servers import free_port

from .conftest import production_site, raw_request

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# What Django sends on each of its own responses (SecurityMiddleware with HTTPS, django-csp,
# clinic.middleware.security_headers, XFrameOptionsMiddleware).
SECURITY_HEADERS = [
    "Content-Security-Policy",
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "Cross-Origin-Resource-Policy",
    "Permissions-Policy",
    "X-Frame-Options",
]
# As the balancer sends them: the visitor's connection was HTTPS.
BALANCER = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


@pytest.fixture
def site(tmp_path):
    with production_site(tmp_path / "nginx") as base:
        yield base


def policy(value):
    """A header's value, its directives in any order (Django's CSP has none of its own)."""
    return sorted(part.strip() for part in value.split(";"))


def assert_security_headers(response, expected, what):
    for name in SECURITY_HEADERS:
        values = response.headers.get_all(name) or []
        assert len(values) == 1, f"{what}: {name} {values}"
        assert policy(values[0]) == policy(expected[name]), f"{what}: {name}"


def assert_no_version(response, what):
    assert response.headers["Server"] == "nginx", what
    assert "nginx/" not in response.text, what


@pytest.fixture
def djangos_headers(site):
    """The headers as Django sets them on a page of its own."""
    page = raw_request(site, "GET", "/privacy/", headers=BALANCER)
    assert page.status == 200
    return {name: page.headers[name] for name in SECURITY_HEADERS}


def test_djangos_own_pages_carry_each_header_once(site, djangos_headers):
    for target in ["/privacy/", "/privacy/", "/learn/", "/consultation/you/", "/no-such-page/", "/readyz"]:
        response = raw_request(site, "GET", target, headers=BALANCER)
        assert_security_headers(response, djangos_headers, target)
    # The second /privacy/ came from nginx's cache.
    assert raw_request(site, "GET", "/privacy/", headers=BALANCER).headers["X-Cache-Status"] == "HIT"


def test_gunicorns_own_414_carries_the_headers(site, djangos_headers):
    # Past gunicorn's 4094-byte request line, within nginx's 8 KiB: gunicorn answers, not Django.
    response = raw_request(site, "GET", "/learn/?q=" + "a" * 5000, headers=BALANCER)
    assert response.status == 414
    assert "URI Too Long" in response.text  # gunicorn's page, not the site's
    assert_security_headers(response, djangos_headers, "gunicorn's 414")
    assert_no_version(response, "gunicorn's 414")


def test_nginxs_own_errors_carry_the_headers_and_no_version(site, djangos_headers):
    errors = {
        "414": raw_request(site, "GET", "/" + "a" * 10000, headers=BALANCER),
        "413": raw_request(
            site, "POST", "/consultation/you/", headers=BALANCER, body=b"x" * (2 * 1024 * 1024)
        ),
        "400": raw_request(site, "GET", "/", headers={**BALANCER, "Host": "a b"}),
    }
    for status, response in errors.items():
        assert response.status == int(status)
        assert_security_headers(response, djangos_headers, f"nginx's {status}")
        assert_no_version(response, f"nginx's {status}")


def test_nginxs_502_while_the_app_is_down_carries_the_headers(tmp_path, site, djangos_headers):
    with nginx_cache(f"127.0.0.1:{free_port()}", tmp_path / "down") as (base, _purge):
        response = raw_request(base, "GET", "/consultation/you/", headers=BALANCER)
    assert response.status == 502
    assert_security_headers(response, djangos_headers, "nginx's 502")
    assert_no_version(response, "nginx's 502")
