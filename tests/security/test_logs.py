"""No log line, access log or Django's, carries a secret link or a forged line.

The tests find the secret-bearing routes themselves: every URL pattern with a parameter that carries
a secret (``clinic.redaction.is_secret_parameter``: ``signed``, ``token``, ``uidb64``...), found by
walking the URL map. Each is requested from a server run as production runs it, in every language,
as its link is sent and as it arrives broken (what a mail client adds to its end, a character
inserted in its secret), by GET and by a POST Django refuses; then the server's whole output, its
access log, Django's log and gunicorn's own, is read for any part of a secret.
"""

import datetime
import logging
import secrets as random_secrets
import socket
import time
import urllib.parse
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.http import HttpResponseForbidden, HttpResponseNotFound
from django.test import RequestFactory
from django.urls import URLResolver, get_resolver, reverse
from django.urls.resolvers import LocalePrefixPattern
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.log import log_response
from gunicorn.config import Config

from appointments.models import intake_link_signer, status_link_signer
from appointments.views.intake import SECTION_IDS
from clinic import redaction
from clinic.access_log import AccessLogger
from clinic.gunicorn import access_log_format
from clinic.redaction import Formatter, is_secret_parameter, loggable_path, secret_routes
from tests.factories import make_clinician, make_request
from tests.servers import SECRET_KEY, database_url, production_env

from .conftest import Browser, log_text, serve

pytestmark = pytest.mark.django_db(transaction=True)

# What a mail client adds to the end of a link it quotes, and what may end up inside one.
APPENDED = [")", "%E2%80%9D", "%20", "/"]
INSERTED = ["%C3%A9", "%00", "%01"]
# The shortest run of a secret's characters that no log may show.
SURVIVING = 12


def routes_with_secrets():
    """Every route of the URL map with a parameter that carries a secret: its parameters' names, by
    its full name (a route without a name by its pattern)."""
    found = {}

    def walk(patterns, parameters, namespaces, described):
        for entry in patterns:
            regex = getattr(entry.pattern, "regex", None)
            here = parameters | set(getattr(regex, "groupindex", {}))
            text = described + ("" if isinstance(entry.pattern, LocalePrefixPattern) else str(entry.pattern))
            if isinstance(entry, URLResolver):
                walk(
                    entry.url_patterns,
                    here,
                    [*namespaces, entry.namespace] if entry.namespace else namespaces,
                    text,
                )
            elif any(is_secret_parameter(name) for name in here):
                found[":".join([*namespaces, entry.name]) if entry.name else text] = here

    walk(get_resolver().url_patterns, set(), [], "")
    return found


class OldSigner(signing.TimestampSigner):
    def timestamp(self):
        return signing.b62_encode(int(time.time()) - 400 * 24 * 3600)


@pytest.fixture
def links(settings):
    """A request, a clinician and a staff login, and the values their secret links carry."""
    # Signed with the servers' key, so that the good links work there.
    settings.SECRET_KEY = SECRET_KEY
    consultation_request = make_request()
    clinician = make_clinician()
    user = get_user_model().objects.create_user("logcheck", "logcheck@clinic.example", is_staff=True)
    return SimpleNamespace(
        consultation_request=consultation_request,
        confirmation=consultation_request.confirmation_token,
        status=status_link_signer().sign(consultation_request.link_value),
        intake=intake_link_signer().sign(consultation_request.link_value),
        expired=OldSigner(salt=status_link_signer().salt).sign(consultation_request.link_value),
        legacy=status_link_signer().sign(consultation_request.confirmation_token),
        feed=clinician.calendar_feed_token,
        uid=urlsafe_base64_encode(force_bytes(user.pk)),
        reset=default_token_generator.make_token(user),
    )


def link_kwargs(name, parameters, links):
    """The parameters of a working link to the route ``name``; for a route this test does not know,
    a made-up secret (its link fails, and is logged as any other)."""
    known = {
        "appointments:request_received": {"token": links.confirmation},
        "appointments:request_status": {"signed": links.status},
        "appointments:appointment_reschedule": {"signed": links.status},
        "appointments:appointment_cancel": {"signed": links.status},
        "appointments:intake_start": {"signed": links.intake},
        "appointments:intake_help": {"signed": links.intake},
        "appointments:intake_done": {"signed": links.intake},
        "appointments:intake_page": {"signed": links.intake, "section": SECTION_IDS[0]},
        "clinician_calendar_feed": {"token": links.feed},
        "staff_set_password": {"uidb64": links.uid, "token": links.reset},
    }
    if name in known:
        return known[name]
    return {
        parameter: random_secrets.token_urlsafe(30) if is_secret_parameter(parameter) else "1"
        for parameter in parameters
    }


def secret_links(links):
    """Every secret link (each route in each language), by route: [(path, its secret values)]."""
    found = {}
    for name, parameters in routes_with_secrets().items():
        kwargs = link_kwargs(name, parameters, links)
        values = [value for parameter, value in kwargs.items() if is_secret_parameter(parameter)]
        paths = set()
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                paths.add(reverse(name, kwargs=kwargs))
        found[name] = [(path, values) for path in sorted(paths)]
    return found


def broken_variants(path, values):
    """``path`` as sent, and as it may arrive: with what a mail client adds to its end, or to its
    secret (a link quoted without its last ``/``), and with a character inserted inside a secret."""
    variants = [path] + [path + extra for extra in APPENDED]
    for value in values:
        variants += [path.replace(value, value + extra) for extra in APPENDED]
        middle = len(value) // 2
        variants += [path.replace(value, value[:middle] + inserted + value[middle:]) for inserted in INSERTED]
    return list(dict.fromkeys(variants))


def extra_paths(links):
    """Links the routes' own cannot show: expired, from before status links named the reference,
    forged, without their last ``/``."""
    return [
        f"/consultation/status/{links.expired}/",
        f"/consultation/status/{links.legacy}/",
        f"/consultation/status/{links.status[:-2]}xx/",
        f"/consultation/status/{links.status}",
        f"/consultation/received/{links.confirmation}",
        f"/es/consultation/intake/{links.intake}/not-a-section/",
        f"/admin/account/set-password/{links.uid}/{links.reset[:-2]}xx/",
    ]


def checked_secrets(links, every_link):
    values = {
        links.confirmation,
        links.status,
        links.intake,
        links.expired,
        links.legacy,
        links.feed,
        links.reset,
        # What the patient's links sign: the reference and the digest of the confirmation token.
        links.consultation_request.link_value,
    }
    values |= {
        value for route_links in every_link.values() for _path, route in route_links for value in route
    }
    return sorted(value for value in values if len(value) >= SURVIVING)


def secrets_in(text, values):
    """The secrets of ``values`` that ``text`` shows, whole or any ``SURVIVING`` characters of them."""
    shown = []
    for value in values:
        runs = {value[start : start + SURVIVING] for start in range(len(value) - SURVIVING + 1)}
        shown += [f"{value!r} ({run!r})" for run in sorted(runs) if run in text][:1]
    return shown


def test_the_redaction_finds_every_secret_bearing_route():
    found = routes_with_secrets()
    assert set(secret_routes()) == set(found)
    assert all(":" in name or name.isidentifier() for name in found), "a secret-bearing route without a name"
    # What the site has today, so that a rule that finds too little fails here too.
    assert {
        "appointments:request_received",
        "appointments:request_status",
        "appointments:appointment_reschedule",
        "appointments:appointment_cancel",
        "appointments:intake_start",
        "appointments:intake_help",
        "appointments:intake_done",
        "appointments:intake_page",
        "clinician_calendar_feed",
        "staff_set_password",
    } <= set(found)


def test_every_broken_link_is_redacted_by_path_and_in_djangos_messages(links):
    every_link = secret_links(links)
    values = checked_secrets(links, every_link)
    formatter = Formatter("{levelname} {name} {message}", style="{")
    lines = []
    handler = logging.Handler()
    handler.setFormatter(formatter)
    handler.emit = lambda record: lines.append(handler.format(record))
    logger = logging.getLogger("tests.security.logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for route_links in every_link.values():
            for path, route_values in route_links:
                for variant in broken_variants(path, route_values):
                    request = RequestFactory().get(variant)
                    lines.append(loggable_path(request.path))
                    lines.append(loggable_path(request.META["PATH_INFO"]))
                    # Django's own calls, which escape the path before the formatter sees it.
                    log_response(
                        "Not Found: %s",
                        request.path,
                        response=HttpResponseNotFound(),
                        request=request,
                        logger=logger,
                    )
                    log_response(
                        "Forbidden (%s): %s",
                        "CSRF cookie not set.",
                        request.path,
                        response=HttpResponseForbidden(),
                        request=request,
                        logger=logger,
                    )
                    # The same message with no request to go by.
                    logger.warning("Gone: %s", request.path.encode("unicode_escape").decode("ascii"))
    finally:
        logger.removeHandler(handler)
    text = "\n".join(lines)
    assert text.count("[redacted]") >= len(lines) // 2
    assert all("\n" not in line for line in lines)
    assert secrets_in(text, values) == []


def test_the_access_log_shows_no_secret_of_a_broken_link_nor_a_query(links):
    every_link = secret_links(links)
    values = checked_secrets(links, every_link)
    logger = AccessLogger(Config())
    lines, other_atoms = [], []
    for route_links in every_link.values():
        for path, route_values in route_links:
            for variant in broken_variants(path, route_values):
                # The environ gunicorn makes: PATH_INFO decoded as Latin-1, RAW_URI as sent.
                environ = RequestFactory().get(variant + "?q=lithium").META
                environ["RAW_URI"] = variant + "?q=lithium"
                response = SimpleNamespace(status="404 Not Found", sent=10, headers=[])
                request = SimpleNamespace(headers=[("REFERER", f"http://127.0.0.1{variant}")])
                atoms = logger.atoms_wrapper_class(
                    logger.atoms(response, request, environ, datetime.timedelta(0))
                )
                lines.append(access_log_format % atoms)
                other_atoms += [atoms["r"], atoms["{referer}i"], atoms["{raw_uri}e"]]
    assert "lithium" not in "\n".join(lines)
    assert secrets_in("\n".join(lines + other_atoms), values) == []


def test_a_url_map_that_cannot_load_still_leaves_no_secret_in_a_log_line(monkeypatch):
    def fails():
        raise ImportError("a URL module that does not import")

    monkeypatch.setattr(redaction, "_secret_routes", fails)
    assert (
        loggable_path("/consultation/intake/KC-7F3Q-9MXD.secret:1x:sig/done/") == "/consultation/[redacted]"
    )
    assert redaction.redact_text("Not Found: /calendar/abcdefabcdef.ics") == "Not Found: /calendar/[redacted]"
    assert (
        redaction.redact_text("Listening at: http://127.0.0.1:8000 (1)")
        == "Listening at: http://127.0.0.1:8000 (1)"
    )


@pytest.fixture
def server(tmp_path):
    env = production_env(
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url(),
        REDIS_URL=settings.CACHES["default"]["LOCATION"],
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",
        LOG_LEVEL="INFO",
    )
    log = tmp_path / "server.log"
    with serve(env, log_path=log, extra_args=["-c", "python:clinic.gunicorn"]) as base:
        yield base, log


def raw_request(base, line):
    """Send ``line`` (bytes) as a request line, as no browser would: gunicorn refuses it itself."""
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(line + b"\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        while connection.recv(65536):
            pass


@pytest.mark.slow
def test_no_log_line_carries_a_secret_link(server, links):
    base, log = server
    every_link = secret_links(links)
    values = checked_secrets(links, every_link)
    statuses, refusals = {}, {}
    sent = [
        variant
        for route_links in every_link.values()
        for path, route_values in route_links
        for variant in broken_variants(path, route_values)
    ]
    for path in sent + extra_paths(links):
        statuses[path] = Browser().request(base + path)[0]
        # A POST without a CSRF token: Django logs the refusal with the path.
        refusals[path] = Browser().request(base + path, data={"cancel": "1"})[0]
    # Raw request lines gunicorn refuses itself, and logs.
    raw_request(base, f"GET /consultation/intake/{links.intake[:20]} {links.intake[20:]}/ HTTP/1.1".encode())
    raw_request(base, f"GET /calendar/{links.feed}\u201d.ics HTTP/1.1".encode())
    raw_request(base, f"GET /consultation/status/{links.status}/\x00 HTTP/1.1".encode())

    # The links as sent work (or fail as they should), so that the pages' own logging is read too.
    assert statuses[every_link["appointments:request_status"][0][0]] == 200
    assert statuses[every_link["appointments:intake_start"][0][0]] == 200
    assert statuses[every_link["appointments:intake_page"][0][0]] == 200
    assert statuses[every_link["clinician_calendar_feed"][0][0]] == 200
    assert statuses[every_link["staff_set_password"][0][0]] == 302
    assert statuses[every_link["appointments:request_received"][0][0]] == 410
    assert 404 in statuses.values() and 403 in refusals.values()
    shown = ["/consultation/status/", "/consultation/intake/", "/es/consultation/intake/", "/calendar/"]
    text = log_text(log, *shown, "set-password", "[redacted]", "Not Found: ", "Forbidden (CSRF")
    for path in shown:
        assert path in text
    assert "set-password" in text and "[redacted]" in text
    assert "Not Found: " in text and "Forbidden (CSRF" in text
    assert secrets_in(text, values) == [], text[-3000:]


@pytest.mark.slow
def test_control_characters_are_escaped_in_every_log_line(server):
    base, log = server
    browser = Browser()
    assert browser.request(base + "/learn/%0A10.9.9.9%20FORGED/")[0] == 404
    assert browser.request(base + "/learn/%00nul%0D/")[0] == 404
    text = log_text(log, "FORGED", "nul")
    assert "\x00" not in text and "\r" not in text
    forged = [line for line in text.splitlines() if "FORGED" in line]
    assert forged, text[-2000:]
    for line in forged:
        assert "\\n10.9.9.9 FORGED" in line
        assert not line.startswith("10.9.9.9")


def test_djangos_loggers_escape_a_forged_line():
    formatter = Formatter("{levelname} {message}", style="{")
    request = RequestFactory().get("/learn/\nFORGED/")
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s", (request.path,), None
    )
    record.request = request
    assert "\n" not in formatter.format(record)


def test_the_admin_offers_no_way_to_a_patients_page(client):
    from django.contrib.contenttypes.models import ContentType

    from tests.factories import log_in_verified, make_staff

    consultation_request = make_request()
    log_in_verified(client, make_staff("clinician"))
    page = client.get(
        reverse("admin:appointments_consultationrequest_change", args=[consultation_request.pk])
    )
    assert consultation_request.confirmation_token not in page.content.decode()
    content_type = ContentType.objects.get_for_model(consultation_request)
    response = client.get(f"/admin/r/{content_type.pk}/{consultation_request.pk}/")
    assert response.status_code == 404
    assert consultation_request.confirmation_token not in response.get("Location", "")
