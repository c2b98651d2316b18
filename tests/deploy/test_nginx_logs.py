"""nginx's access log, with the shipped config: every path that carries a secret is logged with the
secret replaced, whatever a mail client added to the link or put inside it."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from appointments.views.intake import SECTION_IDS
from tests.factories import make_clinician, make_request
from tests.nginx import nginx_cache
from tests.security.conftest import log_text
from tests.servers import free_port

from .conftest import raw_request

REDACTED = "[redacted]"


@pytest.fixture
def secrets(transactional_db, settings):
    """The secret value of each secret-bearing route, and a path (with the secret) to each route."""
    consultation_request = make_request()
    token = consultation_request.confirmation_token
    status = consultation_request.get_status_url().split("/")[-2]
    intake = consultation_request.get_intake_url().split("/")[-2]
    feed = make_clinician().calendar_feed_token
    user = get_user_model().objects.create_user("logcheck", "logcheck@clinic.example", is_staff=True)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    reset = default_token_generator.make_token(user)
    admin = "/" + settings.ADMIN_URL
    routes = [
        # (the path, the secret in it, the shape the log shows)
        (f"/consultation/received/{token}/", token, "/consultation/received/[redacted]/"),
        (f"/consultation/status/{status}/", status, "/consultation/status/[redacted]/"),
        (f"/consultation/status/{status}/reschedule/", status, "/consultation/status/[redacted]/reschedule/"),
        (f"/consultation/status/{status}/cancel/", status, "/consultation/status/[redacted]/cancel/"),
        (f"/consultation/intake/{intake}/", intake, "/consultation/intake/[redacted]/"),
        (f"/consultation/intake/{intake}/help-now/", intake, "/consultation/intake/[redacted]/help-now/"),
        (f"/consultation/intake/{intake}/done/", intake, "/consultation/intake/[redacted]/done/"),
        *(
            (
                f"/consultation/intake/{intake}/{section}/",
                intake,
                f"/consultation/intake/[redacted]/{section}/",
            )
            for section in SECTION_IDS
        ),
        (f"/calendar/{feed}.ics", feed, "/calendar/[redacted].ics"),
        (f"{admin}account/set-password/{uid}/{reset}/", reset, f"{admin}account/set-password/[redacted]"),
    ]
    # The Spanish forms of the patient's pages.
    routes += [
        ("/es" + path, secret, "/es" + shape) for path, secret, shape in routes if "/consultation/" in path
    ]
    return routes


def variants(path, secret):
    """The path as it arrives after a reader or a mail client has had the link: something appended,
    something inserted inside the secret, other spellings of the same path."""
    half = len(secret) // 2
    inside = [secret[:half] + char + secret[half:] for char in ["%C3%A9", "%0A", "%09", "%22", "%20", "%7F"]]
    yield path
    yield path.rstrip("/")
    for junk in [")", "%E2%80%9D", "%20", "/", ".", "%22", ">", "/https://clinic.example/", "?utm=1"]:
        yield path + junk
    for changed in inside:
        yield path.replace(secret, changed)
    yield "/" + path  # two slashes
    yield path.replace("/", "%2F").replace("%2F", "/", 1)  # slashes escaped
    yield path.replace("consultation", "Consultation").replace("calendar", "CALENDAR")


def windows(secret, size=10):
    """Every run of ``size`` characters of the secret: none may reach the log, even split up."""
    return {secret[start : start + size] for start in range(len(secret) - size + 1)}


@pytest.mark.slow
def test_nginx_logs_no_secret_link(proxy, nginx_dir, secrets):
    statuses = {}
    for path, secret, shape in secrets:
        # Every variant of one page of each kind, in each language; the others as they are, and once
        # with a character appended (each request takes the live server some time).
        full = not any(f"/{section}/" in path for section in SECTION_IDS[1:]) and (
            not path.startswith("/es/") or shape.endswith(("/status/[redacted]/", "/intake/[redacted]/"))
        )
        for target in variants(path, secret) if full else [path, path + ")"]:
            statuses[target] = raw_request(proxy, "GET", target).status
        # A POST without a CSRF token, and a HEAD: logged the same way.
        raw_request(proxy, "POST", path, body=b"cancel=1")
        raw_request(proxy, "HEAD", path)
    # The links themselves work (so the log is of the real pages, not only of 404s).
    paths = [path for path, _secret, _shape in secrets]
    assert statuses[paths[1]] == 200  # the status page
    assert statuses[paths[4]] == 200  # the intake's first page
    assert statuses[next(path for path in paths if path.endswith(".ics"))] == 200
    assert statuses[next(path for path in paths if "set-password" in path)] == 302  # on to the form
    raw_request(proxy, "GET", "/learn/")
    log = log_text(nginx_dir / "access.log", '"GET /learn/"')
    assert '"GET /learn/"' in log  # the log is written, paths without secrets as they are
    leaked = sorted({secret for _path, secret, _shape in secrets for run in windows(secret) if run in log})
    assert leaked == []
    for _path, _secret, shape in secrets:
        assert f'"GET {shape}"' in log, shape
    # Nothing of what was added to a secret is left beside it: after the placeholder, only the
    # page's own name (or the feed's .ics), or the end of the path.
    pages = ["reschedule", "cancel", "help-now", "done", *SECTION_IDS]
    allowed = {"", ".ics", "/", *(f"/{page}/" for page in pages), *(f"/{page}" for page in pages)}
    assert set(re.findall(r"\[redacted\]([^\"]*)\"", log)) <= allowed


def secret_routes(resolver=None, prefix=""):
    """The names of the site's URL patterns with a secret in the path: a str converter (the default
    one), outside the admin's own pages (whose str parts are an app's or a model's name)."""
    from django.urls import URLPattern, get_resolver

    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLPattern):
            if re.search(r"<(str:)?\w+>", route) and pattern.callback.__module__.split(".")[0] not in {
                "django",
                "two_factor",
            }:
                yield pattern.name
        else:
            yield from secret_routes(pattern, route)


def test_every_route_with_a_secret_is_logged_redacted_in_the_test_above(secrets):
    from django.urls import resolve

    tested = {resolve(path).url_name for path, _secret, _shape in secrets if not path.startswith("/es/")}
    assert set(secret_routes()) <= tested


@pytest.mark.slow
def test_nginx_logs_no_secret_link_when_the_app_is_down(tmp_path, secrets):
    # Nothing listens upstream: nginx answers 502 and, at "error", would log the request line.
    with nginx_cache(f"127.0.0.1:{free_port()}", tmp_path / "nginx") as (base, _purge_base):
        statuses = {raw_request(base, "GET", path).status for path, _secret, _shape in secrets}
    assert statuses == {502}
    logs = "".join(
        (tmp_path / "nginx" / name).read_text(errors="replace")
        for name in ["clinic-error.log", "error.log", "access.log"]
    )
    assert '" 502 ' in logs  # the access log keeps each failed request, its path redacted
    leaked = sorted({secret for _path, secret, _shape in secrets for run in windows(secret) if run in logs})
    assert leaked == []
