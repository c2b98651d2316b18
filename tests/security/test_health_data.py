"""No health data where it does not belong: logs, error reports, e-mails and page titles.

A request full of marker strings goes through the real form, the mail worker sends its mail, a
mistake and a server error happen on the way; then every log line, every mail and every page the
patient reaches afterwards is searched for the markers. The patient's own mail may greet them by
first name and goes to their address; the staff's mails carry no name at all.
"""

import datetime
import email
import email.policy
import io
import logging
import re
import sys

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.signals import got_request_exception
from django.db import connection
from django.urls import reverse
from django.views.debug import ExceptionReporter, get_exception_reporter_class

from appointments.models import ConsultationRequest, OutboundEmail
from tests.booking import walk
from tests.intake import answer_intake
from tests.outbox import render_pending
from tests.servers import SECRET_KEY, database_url, production_env

from .conftest import (
    PATIENT_MARKERS,
    Browser,
    marked_answers,
    marked_intake_answers,
    markers_in,
    serve,
)

FIRST_NAME = PATIENT_MARKERS["first_name"]
PATIENT_EMAIL = PATIENT_MARKERS["email"]
ADMINS = [("Operations", "ops@clinic.example")]
REFUSE_NEW_ROWS = (
    "ALTER TABLE appointments_consultationrequest "
    "ADD CONSTRAINT security_test_refuses_new_rows CHECK (false) NOT VALID"
)
ALLOW_NEW_ROWS = (
    "ALTER TABLE appointments_consultationrequest DROP CONSTRAINT IF EXISTS security_test_refuses_new_rows"
)


@pytest.fixture
def every_log_line(caplog):
    """Every logger at DEBUG into caplog, and what the site's configured log handler writes.

    Returns a function giving all of it as text: each record's message, arguments and
    traceback as caplog saw them, then the handler's output as an operator would read it.
    """
    caplog.set_level(logging.DEBUG)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            caplog.set_level(logging.DEBUG, logger=name)
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    output = io.StringIO()
    previous = handler.setStream(output)
    plain = logging.Formatter("%(name)s %(levelname)s %(message)s")

    def text():
        records = [
            f"{plain.format(record)} {record.args!r} {getattr(record, 'request', '')!r}"
            for record in caplog.records
        ]
        return "\n".join(records) + "\n" + output.getvalue()

    yield text
    handler.setStream(previous)


def mail_text(message, *, skip_headers=()):
    """Everything a mail carries, decoded: headers (but ``skip_headers``), every part, attachment names."""
    parsed = email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)
    parts = [f"{name}: {value}" for name, value in parsed.items() if name.lower() not in skip_headers]
    for part in parsed.walk():
        if part.is_multipart():
            continue
        parts.append(str(part.get_filename() or ""))
        parts.append(str(part.get_content()))
    for attachment in message.attachments:
        parts.append(repr(attachment))
    parts += [repr(message.extra_headers), repr(message.cc), repr(message.bcc), repr(message.reply_to)]
    parts += [repr(getattr(message, "alternatives", []))]
    return "\n".join(parts)


def stored_markers(consultation_request):
    """What the request holds of each marked answer: every marker, once both stages are answered."""
    return {name: getattr(consultation_request, name) for name in PATIENT_MARKERS}


def check_mails(messages, *, reference, staff_address):
    """The privacy rules for the mails of one request; return them by kind."""
    kinds = {"patient": [], "staff": [], "admins": []}
    for message in messages:
        if message.to == [PATIENT_EMAIL]:
            kinds["patient"].append(message)
        elif message.to == [staff_address]:
            kinds["staff"].append(message)
        elif message.to == [address for _name, address in ADMINS]:
            kinds["admins"].append(message)
        else:
            raise AssertionError(f"a mail to an unexpected address: {message.to}")
    (patient,) = kinds["patient"]
    # The patient's mail: their first name, their reference, what happens next, their status link.
    assert f"Dear {FIRST_NAME}," in patient.body
    assert reference in patient.subject and reference in patient.body
    assert "What happens next" in patient.body
    assert "/consultation/status/" in patient.body
    assert patient.content_subtype == "plain" and not getattr(patient, "alternatives", [])
    assert markers_in(mail_text(patient, skip_headers={"to"}), allow={"first_name"}) == []
    assert FIRST_NAME not in patient.subject
    # The staff's mails: a reference and a link to the workspace, no name, no contact detail, no answer.
    assert kinds["staff"], "the staff alert was not sent"
    for message in kinds["staff"]:
        assert reference in message.body
        assert markers_in(mail_text(message)) == [], message.subject
    for message in kinds["admins"]:
        assert markers_in(mail_text(message)) == [], message.subject
    return kinds


def refuse_new_requests():
    """From now on the database refuses every new request: a server error on the way to saving."""
    with connection.cursor() as cursor:
        # Inside a test's transaction, deferred constraint checks must run before the table changes.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(REFUSE_NEW_ROWS)


@pytest.mark.django_db
def test_a_request_leaves_no_health_data_in_logs_mails_error_reports_or_titles(
    client, settings, every_log_line, django_capture_on_commit_callbacks
):
    settings.ADMINS = ADMINS
    settings.CONSULTATION_RATE_LIMIT = "1000/m"
    client.raise_request_exception = False
    # A mistake: the step comes back with the answers kept, and nothing in its title.
    mistaken = walk(client, marked_answers(consent_privacy=None))
    assert mistaken.status_code == 200
    assert FIRST_NAME in mistaken.content.decode(), "the patient's answers should be kept on the form"
    assert markers_in(re.search(r"<title>(.*?)</title>", mistaken.content.decode(), re.S).group(1)) == []

    # The request itself, its confirmation and its status page, and a cancellation from there.
    with django_capture_on_commit_callbacks(execute=True):
        response = walk(client, marked_answers())
    assert response.status_code == 302
    consultation_request = ConsultationRequest.objects.get()
    confirmation = response["Location"]
    # The intake, every typed answer a marker: a mistake on a page first, then every page.
    intake_page = reverse(
        "appointments:intake_page",
        kwargs={
            "signed": consultation_request.get_intake_url().rstrip("/").split("/")[-1],
            "section": "about",
        },
    )
    mistaken = client.post(intake_page, {**marked_intake_answers(), "date_of_birth_month": "13"})
    assert mistaken.status_code == 200 and "date of birth" in mistaken.content.decode().lower()
    assert markers_in(re.search(r"<title>(.*?)</title>", mistaken.content.decode(), re.S).group(1)) == []
    with django_capture_on_commit_callbacks(execute=True):
        answer_intake(client, consultation_request, marked_intake_answers())
    consultation_request.refresh_from_db()
    assert stored_markers(consultation_request) == PATIENT_MARKERS
    assert consultation_request.date_of_birth == datetime.date(1931, 2, 17)
    pages = [client.get(confirmation), client.get(consultation_request.get_status_url())]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(consultation_request.get_status_url())
    pages.append(client.get(consultation_request.get_status_url()))
    for page in pages:
        assert page.status_code == 200
        assert consultation_request.reference in page.content.decode()
        assert markers_in(page.content.decode()) == []
    # A server error while saving: the database refuses the row.
    refuse_new_requests()
    failed = walk(client, marked_answers())
    assert failed.status_code == 500
    assert markers_in(failed.content.decode()) == []
    assert ConsultationRequest.objects.count() == 1

    call_command("mail_worker", "--once", verbosity=0)

    kinds = check_mails(
        mail.outbox, reference=consultation_request.reference, staff_address=settings.CLINIC_STAFF_EMAIL
    )
    assert len(kinds["staff"]) == 2, "a new-request alert and a cancellation"
    (report,) = kinds["admins"]
    assert "Internal Server Error: /consultation/check/" in report.subject
    assert "IntegrityError" in report.body
    logs = every_log_line()
    assert "Internal Server Error: /consultation/check/" in logs
    assert "Traceback" in logs
    assert markers_in(logs) == []


@pytest.mark.django_db
def test_error_reports_show_neither_the_answers_nor_the_database_row(client, settings):
    """Django's error report, as mailed to ADMINS or shown with DEBUG on, for a failed submission."""
    settings.CONSULTATION_RATE_LIMIT = "1000/m"
    client.raise_request_exception = False
    caught = []

    def catch(sender, request, **kwargs):
        caught.append((request, sys.exc_info()))

    refuse_new_requests()
    got_request_exception.connect(catch)
    try:
        response = walk(client, marked_answers())
    finally:
        got_request_exception.disconnect(catch)
    assert response.status_code == 500
    ((request, exc_info),) = caught
    # Send posts the acknowledgement; the answers come from the draft, in the frames' variables.
    assert request.POST["consent_not_emergency"] == "on"

    reporter_class = get_exception_reporter_class(request)
    assert issubclass(reporter_class, ExceptionReporter)
    for is_email in (True, False):
        reporter = reporter_class(request, *exc_info, is_email=is_email)
        text = reporter.get_traceback_text()
        page = reporter.get_traceback_html()
        assert "IntegrityError" in text and "IntegrityError" in page
        assert "consent_not_emergency" in text, "the report should list the POST parameters"
        assert "********************" in text, "with their values hidden"
        assert markers_in(text) == [], "text report"
        assert markers_in(page) == [], "HTML report"
        # Each frame's variables whole: the report trims a long value, which could hide a leak.
        for frame in reporter.get_traceback_frames():
            for name, value in frame["vars"]:
                assert markers_in(repr(value)) == [], (frame["function"], name)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_production_server_logs_no_health_data(tmp_path, settings):
    """Through gunicorn at DEBUG log level, access log on, as the README runs it."""
    log_path = tmp_path / "server.log"
    env = production_env(
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url(),
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        LOG_LEVEL="DEBUG",
        CONSULTATION_RATE_LIMIT="1000/m",
        # The test's own key space, emptied after it: the e-mail and phone limits count per day.
        REDIS_URL=settings.CACHES["default"]["LOCATION"],
        CACHE_KEY_PREFIX=settings.CACHES["default"]["KEY_PREFIX"],
        STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",
    )
    try:
        with serve(env, log_path=log_path, extra_args=["--log-level", "debug"]) as base:
            form_url = f"{base}/consultation/"
            browser = Browser()
            status, _headers, page = browser.submit(form_url, marked_answers(consent_contact=None))
            assert status == 200 and FIRST_NAME in page
            status, headers, _page = browser.submit(form_url, marked_answers())
            assert status == 302, status
            consultation_request = ConsultationRequest.objects.get()
            # The mail worker writes the status link, signed with the server's key as in production.
            settings.SECRET_KEY = SECRET_KEY
            status, _headers, _page = browser.answer_intake(
                base, consultation_request, marked_intake_answers()
            )
            assert status == 302, status
            consultation_request.refresh_from_db()
            assert stored_markers(consultation_request) == PATIENT_MARKERS
            render_pending()
            acknowledgement = OutboundEmail.objects.get(to=PATIENT_EMAIL)
            status_path = re.search(r"/consultation/status/\S+/", acknowledgement.body).group(0)
            for path in [headers["Location"], status_path]:
                status, _headers, page = browser.request(base + path)
                assert status == 200 and consultation_request.reference in page
                assert markers_in(page) == []
            refuse_new_requests()
            status, _headers, page = browser.submit(form_url, marked_answers())
            assert status == 500 and markers_in(page) == []
    finally:
        with connection.cursor() as cursor:
            cursor.execute(ALLOW_NEW_ROWS)

    call_command("mail_worker", "--once", verbosity=0)
    check_mails(
        mail.outbox, reference=consultation_request.reference, staff_address=settings.CLINIC_STAFF_EMAIL
    )

    logs = log_path.read_text()
    assert '"POST /consultation/check/ HTTP/1.1" 302' in logs, "the access log should be in the output"
    assert "Internal Server Error: /consultation/check/" in logs and "Traceback" in logs
    assert markers_in(logs) == []
