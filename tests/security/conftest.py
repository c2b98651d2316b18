"""Helpers for the security tests: a request full of markers, an HTML safety check, live servers."""

import contextlib
import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from tests.booking import (
    CHECK_URL,
    HELP_URL,
    STEP_URLS,
    STEPS,
    WHEN_URL,
    csrf_token_in,
    first_step_url,
    form_token_in,
    send_data,
    step_data,
    unasked,
)
from tests.factories import booking_answers, intake_answers
from tests.intake import PAGE_NAMES, page_data
from tests.servers import gunicorn_machine

# One distinctive string per answer a patient types: none may turn up where health data does not belong.
PATIENT_MARKERS = {
    "first_name": "Quillonfirst",
    "last_name": "Vantrobelast",
    "email": "wyrmlocal7731@example.com",
    "concern_other": "Zorblat-concern-mk",
    "treatments_other": "Glimmerquat-treatment-mk",
    "current_medications": "Fluxorazine-450mg-mk",
    "medical_history_other": "Brackenwort-history-mk",
    "insurance_carrier": "Hollowmere-insurance-mk",
    "heard_about_other": "Tessaline-heard-mk",
}
# The markers typed while booking; the others are typed in the intake.
BOOKING_MARKED = ("first_name", "last_name", "email", "concern_other")
PHONE = "(212) 555-0173"
DATE_OF_BIRTH_BOXES = ("2", "17", "1931")
# How the phone number and date of birth can look once parsed and formatted again.
OTHER_MARKERS = ["555-0173", "5550173", "1931-02-17", "02/17/1931", "17/02/1931", "February 17, 1931"]
EMAIL_LOCAL_PART = PATIENT_MARKERS["email"].split("@")[0]


def all_markers(*, allow=()):
    """Every marker string, minus the answers named in ``allow`` (the e-mail by its local part too)."""
    markers = [value for name, value in PATIENT_MARKERS.items() if name not in allow]
    if "email" not in allow:
        markers.append(EMAIL_LOCAL_PART)
    if "phone" not in allow:
        markers += OTHER_MARKERS[:2]
    if "date_of_birth" not in allow:
        markers += OTHER_MARKERS[2:]
    return markers


def markers_in(text, *, allow=()):
    """The markers found in ``text`` (case-insensitive)."""
    text = text.lower()
    return [marker for marker in all_markers(allow=allow) if marker.lower() in text]


def marked_answers(**overrides):
    """A complete, valid booking whose every typed answer is a marker (``booking_answers``);
    keyword arguments replace answers."""
    return booking_answers(
        **{
            **{name: PATIENT_MARKERS[name] for name in BOOKING_MARKED},
            "phone": PHONE,
            "contact_method": "email",
            "contact_times": ["morning", "saturday"],
            "concern": "other",
            "modality": "in_person",
            **overrides,
        }
    )


def marked_intake_answers(**overrides):
    """The intake answered with a marker in every typed answer (``intake_answers``), the date of birth
    included; keyword arguments replace answers."""
    month, day, year = DATE_OF_BIRTH_BOXES
    return intake_answers(
        **{
            **{name: marker for name, marker in PATIENT_MARKERS.items() if name not in BOOKING_MARKED},
            "date_of_birth_month": month,
            "date_of_birth_day": day,
            "date_of_birth_year": year,
            "episode": "mixed",
            "treatments_tried": ["tried_ketamine", "tried_therapy"],
            "medical_history": ["psychosis_history", "pregnant_or_breastfeeding"],
            "treatment_preference": "nasal",
            "payment": "insurance",
            "heard_about": "other",
            **overrides,
        }
    )


# HTML that could run a script, wherever it came from.

URL_ATTRIBUTES = {
    "href",
    "src",
    "action",
    "formaction",
    "xlink:href",
    "data",
    "poster",
    "background",
    "srcset",
}
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:text/html", "data:application", "data:image/svg")
FORBIDDEN_TAGS = {"iframe", "frame", "frameset", "object", "embed", "applet", "base", "math", "foreignobject"}
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


def script_views():
    """Scripts the site serves from views rather than static files: the admin's translations."""
    return {reverse("admin:jsi18n")}


class _SafetyParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []
        self.script = None

    def handle_starttag(self, tag, attrs):
        self._check(tag, attrs)
        if tag == "script":
            self.script = {"attrs": dict(attrs), "text": []}

    def handle_startendtag(self, tag, attrs):
        self._check(tag, attrs)
        if tag == "script":
            self.script = {"attrs": dict(attrs), "text": []}
            self.handle_endtag("script")

    def handle_data(self, data):
        if self.script is not None:
            self.script["text"].append(data)

    def handle_endtag(self, tag):
        if tag != "script" or self.script is None:
            return
        attrs, text = self.script["attrs"], "".join(self.script["text"])
        self.script = None
        kind = (attrs.get("type") or "").lower()
        if kind in DATA_SCRIPT_TYPES:
            try:
                json.loads(text)
            except ValueError:
                self.problems.append(f"a data script that is not JSON: {text[:120]!r}")
            return
        src = attrs.get("src") or ""
        if (
            not (src.startswith("/" + settings.STATIC_URL.lstrip("/")) or src in script_views())
            or text.strip()
        ):
            self.problems.append(f"a script that is not one of the site's files: {attrs!r} {text[:120]!r}")

    def _check(self, tag, attrs):
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"a <{tag}> element")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.problems.append(f"an event handler on <{tag}>: {name}={value[:80]!r}")
            compact = re.sub(r"[\s\x00-\x1f]", "", value).lower()
            if name in URL_ATTRIBUTES and compact.startswith(DANGEROUS_SCHEMES):
                self.problems.append(f"a script URL on <{tag}>: {name}={value[:80]!r}")
            if name == "style" and ("expression(" in compact or "url(javascript" in compact):
                self.problems.append(f"a scripted style on <{tag}>")
            if tag == "meta" and name == "http-equiv" and value.lower() == "refresh":
                self.problems.append("a meta refresh")


def unsafe_html(page):
    """What in ``page`` could run a script: elements, attributes and URLs the site never writes itself."""
    parser = _SafetyParser()
    parser.feed(page)
    parser.close()
    return parser.problems


# Live servers.


@contextlib.contextmanager
def serve(env, *, log_path, workers=1, extra_args=()):
    """Run gunicorn as the README does, its output (access log included) written to ``log_path``."""
    options = ["--timeout", "30", "--access-logfile", "-", *extra_args]
    with gunicorn_machine(env, log_path=log_path, workers=workers, extra_args=options) as machine:
        yield machine.base


def log_text(path, *needles, timeout=10):
    """The text of the log at ``path`` once a server has written every one of ``needles`` to it (a
    server writes its log a moment after it answers); the text as it stands after ``timeout`` s."""
    path = Path(path)
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text(errors="backslashreplace") if path.exists() else ""
        if all(needle in text for needle in needles) or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Browser:
    """A visitor with a cookie jar: cookies are per host, so one browser can talk to several servers."""

    def __init__(self):
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects()
        )

    def request(self, url, *, data=None, method=None, headers=None):
        """Return (status, headers, text) for every status; never follows a redirect."""
        body = urllib.parse.urlencode(data, doseq=True).encode() if isinstance(data, dict) else data
        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(request, timeout=20) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()

    def walk(self, base, answers, *, stop_after=None):
        """Post ``answers`` through the booking's steps on the server at ``base``, each with the CSRF
        token of its page; return (status, headers, text) of the last step posted, or of the first
        that did not move on. A name that no step asks raises ``ValueError``."""
        if unasked(answers):
            raise ValueError(f"Not asked while booking: {', '.join(sorted(unasked(answers)))}")
        for number, step in enumerate(STEPS):
            url = base + (first_step_url(answers) if number == 0 else step.url)
            status, _headers, page = self.request(url)
            if status != 200:
                return status, _headers, page
            data = {**step_data(step.section, answers), "csrfmiddlewaretoken": csrf_token_in(page)}
            status, headers, page = self.request(url, data=data, headers={"Referer": url})
            location = (headers.get("Location") or "").split("?")[0]
            if status != 302 or location not in {*STEP_URLS[number + 1 :], HELP_URL, WHEN_URL, CHECK_URL}:
                return status, headers, page
            if step.section == stop_after:
                break
        return status, headers, page

    def answer_intake(self, base, consultation_request, answers):
        """Post ``answers`` through every page of the request's intake on the server at ``base``, each
        with the CSRF token of its page; return (status, headers, text) of the last page, or of the
        first that did not move on."""
        signed = consultation_request.get_intake_url().rstrip("/").split("/")[-1]
        for section_id in PAGE_NAMES:
            url = base + reverse("appointments:intake_page", kwargs={"signed": signed, "section": section_id})
            status, headers, page = self.request(url)
            if status != 200:
                return status, headers, page
            data = {**page_data(section_id, answers), "csrfmiddlewaretoken": csrf_token_in(page)}
            status, headers, page = self.request(url, data=data, headers={"Referer": url})
            if status != 302:
                return status, headers, page
        return status, headers, page

    def form(self, url, answers=None):
        """Walk the booking (``answers``, a complete set by default) to its check page on the server of
        ``url``; return the check page's CSRF token and one-time form token."""
        base = url.split("/consultation/")[0]
        status, _headers, _page = self.walk(base, answers or marked_answers())
        assert status == 302, status
        return self._send_tokens(base)

    def _send_tokens(self, base):
        status, _headers, page = self.request(base + CHECK_URL)
        assert status == 200, status
        return csrf_token_in(page), form_token_in(page)

    def submit(self, form_url, answers, *, post_url=None):
        """Walk the steps on the server of ``form_url`` and send from its check page to the server of
        ``post_url`` (the same by default); return Send's response, or that of the first step that did
        not move on."""
        base = form_url.split("/consultation/")[0]
        status, headers, page = self.walk(base, answers)
        if status != 302:
            return status, headers, page
        csrf, token = self._send_tokens(base)
        send_url = (post_url or form_url).split("/consultation/")[0] + CHECK_URL
        data = {**send_data(answers), "csrfmiddlewaretoken": csrf, "form_token": token}
        return self.request(send_url, data=data, headers={"Referer": send_url})
