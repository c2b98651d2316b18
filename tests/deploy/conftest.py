"""deploy/nginx.conf in front of the app: the live server (settings of the test's own), or gunicorn
run as production runs it; and raw HTTP to it, from the address a test chooses."""

import contextlib
import http.client
import re
import urllib.parse

import pytest
from django.conf import settings
from django.core.signals import request_started

from education.services import clinic_content_load
from tests.nginx import nginx_cache
from tests.servers import SECRET_KEY, database_url, gunicorn, production_env


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
def nginx_dir(tmp_path):
    """Where nginx keeps its configuration, cache and logs (``access.log``, ``error.log``)."""
    return tmp_path / "nginx"


@pytest.fixture
def proxy(live_server, transactional_db, nginx_dir, settings):
    """nginx, with the shipped config, in front of the live server; its base URL.

    The test's own connections, from 127.0.0.1, play the load balancer in front of nginx.
    """
    clinic_content_load()
    upstream = urllib.parse.urlsplit(live_server.url).netloc
    with nginx_cache(upstream, nginx_dir) as (base, purge_base):
        settings.HTTP_CACHE_PURGE_URL = purge_base
        yield base


@contextlib.contextmanager
def production_site(directory, **env):
    """gunicorn as the README runs it (``-c python:clinic.gunicorn``, DEBUG off) behind nginx."""
    clinic_content_load()
    server_env = production_env(
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url(),
        REDIS_URL=settings.CACHES["default"]["LOCATION"],
        CACHE_KEY_PREFIX=settings.CACHES["default"]["KEY_PREFIX"],
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        TRUST_X_FORWARDED_PROTO="true",
        TRUSTED_PROXY_COUNT="1",
        STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",
        **env,
    )
    with gunicorn(server_env, extra_args=["-c", "python:clinic.gunicorn"]) as origin:
        upstream = urllib.parse.urlsplit(origin).netloc
        with nginx_cache(upstream, directory) as (base, _purge_base):
            yield base


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage: get_all() sees repeated headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


def raw_request(base, method, target, *, headers=None, body=None, source="127.0.0.1"):
    """One request with exactly this request target (no quoting) and headers, from ``source``.

    Host is the base's (with its port), unless ``headers`` give another.
    """
    netloc = urllib.parse.urlsplit(base).netloc
    host, port = netloc.rsplit(":", 1)
    connection_ = http.client.HTTPConnection(host, int(port), timeout=20, source_address=(source, 0))
    try:
        connection_.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in {"Host": netloc, **(headers or {})}.items():
            connection_.putheader(name, value)
        if body is not None:
            connection_.putheader("Content-Length", str(len(body)))
        connection_.endheaders(body)
        response = connection_.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        connection_.close()


class Visitor:
    """A browser's cookies, through the balancer (``forwarded_for``) or straight from ``source``."""

    def __init__(self, base, *, forwarded_for=None, source="127.0.0.1"):
        self.base = base
        self.forwarded_for = forwarded_for
        self.source = source
        self.cookies = {}

    def request(self, method, target, *, data=None, headers=None):
        headers = {"Host": urllib.parse.urlsplit(self.base).netloc, **(headers or {})}
        if self.forwarded_for:
            headers["X-Forwarded-For"] = self.forwarded_for
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = raw_request(self.base, method, target, headers=headers, body=body, source=self.source)
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response

    def post_form(self, path, data, *, headers=None):
        """GET the form's page, then POST ``data`` with its CSRF token."""
        page = self.request("GET", path)
        assert page.status == 200, page.status
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return self.request("POST", path, data={"csrfmiddlewaretoken": token, **data}, headers=headers)
