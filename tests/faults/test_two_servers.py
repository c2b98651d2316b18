"""Two app servers behind deploy/nginx.conf, patients booking through it: one server dies (SIGKILL)
with Sends in flight, later PostgreSQL cuts every connection. Every patient sees a confirmation or
the clinic's "try again or call" page, every confirmed booking is stored once, none twice, and the
mail worker sends each stored booking's acknowledgement.

Each fault is made to catch Sends in flight: a session of the test's own locks the requests table
against writes, so that the patients' Sends wait inside their transaction (a slow commit), and the
fault comes once PostgreSQL shows them waiting (the server killed is one they wait on). A Spanish
Send whose server dies gets the page in Spanish.
"""

import re
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection, transaction

from appointments.models import ConsultationRequest, OutboundEmail
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
)
from tests.nginx import nginx_cache, upstream_servers
from tests.servers import PYTHON, ROOT, database_url, free_port, gunicorn_machine

from .conftest import Browser, marked_answers, site_env, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PATIENTS = 24
AT_ONCE = 8
# Long enough for the test to see the Sends waiting and strike; the shipped 5 s is for patients.
LOCK_TIMEOUT_MS = 20_000
# Keys of the test's own on the shared Redis, the same for both servers.
CACHE_PREFIX = f"faults-two-servers-{time.time_ns()}"
PHONE_LINK = "tel:+15550100100"
CONFIRMED = re.compile(r"^/consultation/received/([\w-]+)/$")
REFERENCE = re.compile(r"KC-[0-9A-Z]{4}-[0-9A-Z]{4}")


class TryAgain(Exception):
    """The patient was shown the clinic's "try again or call" page."""


class Unexpected(Exception):
    """The patient was shown something else: nginx's own error page, a blank page, a 500."""


def try_again_page(status, page):
    return status == 503 and "please try again in a minute" in page and PHONE_LINK in page


class Patient:
    """A browser walking the booking through nginx, from an address of its own behind the balancer."""

    def __init__(self, base, number):
        self.base = base
        self.number = number
        self.email = f"two-servers-{number}@example.com"
        self.answers = marked_answers(
            email=self.email, phone=f"(212) 555-01{number:02d}", last_name=f"Twoservers{number}"
        )
        self.browser = Browser()
        self.forwarded_for = f"203.0.113.{number + 1}"
        self.seen = []
        self.confirmation_token = None
        self.reference = None
        self.started = self.ended = None

    def visit(self, path, data=None):
        url = self.base + path
        headers = {"X-Forwarded-For": self.forwarded_for}
        if data is not None:
            headers["Referer"] = url
        try:
            status, response_headers, page = self.browser.request(url, data=data, headers=headers)
        except OSError as error:
            self.seen.append((path, type(error).__name__))
            raise Unexpected(f"{path}: {type(error).__name__}") from None
        self.seen.append((path, status))
        if try_again_page(status, page):
            raise TryAgain
        return status, (response_headers.get("Location") or ""), page

    def expect_page(self, path):
        status, _location, page = self.visit(path)
        if status != 200:
            raise Unexpected(f"GET {path}: {status} {page[:200]!r}")
        return page

    def book(self):
        """Walk the steps, send, and read the confirmation; return what the patient ended on."""
        self.started = time.monotonic()
        try:
            return self._book()
        finally:
            self.ended = time.monotonic()

    def _book(self):
        try:
            for number, step in enumerate(STEPS):
                path = first_step_url(self.answers) if number == 0 else step.url
                page = self.expect_page(path)
                data = {**step_data(step.section, self.answers), "csrfmiddlewaretoken": csrf_token_in(page)}
                status, location, page = self.visit(path, data)
                if status != 302 or location.split("?")[0] not in {
                    *STEP_URLS[number + 1 :],
                    HELP_URL,
                    WHEN_URL,
                    CHECK_URL,
                }:
                    raise Unexpected(f"POST {path}: {status} {location} {page[:200]!r}")
            page = self.expect_page(CHECK_URL)
            data = {
                **send_data(self.answers),
                "csrfmiddlewaretoken": csrf_token_in(page),
                "form_token": form_token_in(page),
            }
            status, location, page = self.visit(CHECK_URL, data)
            confirmed = CONFIRMED.match(location)
            if status != 302 or not confirmed:
                raise Unexpected(f"Send: {status} {location} {page[:200]!r}")
            page = self.expect_page(location)
            self.confirmation_token = confirmed.group(1)
            self.reference = REFERENCE.search(page).group(0)
            return "confirmed"
        except TryAgain:
            return "try again"
        except Unexpected as error:
            return f"unexpected: {error}"


class TableLock(threading.Thread):
    """Another database session holding the requests table against writes until the block ends:
    every Send waits inside its transaction meanwhile (the steps, which only read it, go on)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.holding = threading.Event()
        self.release = threading.Event()
        self.pid = None

    def run(self):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = cursor.fetchone()[0]
                cursor.execute(f"LOCK TABLE {ConsultationRequest._meta.db_table} IN SHARE MODE")
                self.holding.set()
                self.release.wait(timeout=40)
        finally:
            connection.close()

    def __enter__(self):
        self.start()
        assert self.holding.wait(timeout=10)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.join(timeout=10)


def sends_waiting():
    """The names of the servers (their connections' application_name) with a Send waiting on the
    locked table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT application_name FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE %s",
            [f'INSERT INTO "{ConsultationRequest._meta.db_table}"%'],
        )
        return sorted(name for (name,) in cursor.fetchall())


def cut_connections(*, keep):
    """PostgreSQL ends every other session of the test database (pg_terminate_backend)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s",
            [keep],
        )
        return cursor.fetchone()[0]


class Mailbox:
    """An SMTP server that keeps every message it is given."""

    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 Message accepted for delivery"


def server_env(name):
    """A production server's environment; PostgreSQL shows its sessions under ``name``."""
    return site_env(
        DATABASE_URL=f"{database_url()}?application_name={name}",
        CACHE_KEY_PREFIX=CACHE_PREFIX,
        REDIS_URL=settings.CACHES["default"]["LOCATION"],
        TRUSTED_PROXY_COUNT="1",
        DATABASE_LOCK_TIMEOUT_MS=str(LOCK_TIMEOUT_MS),
    )


@pytest.fixture
def site(tmp_path):
    """Two gunicorn servers as production runs them (``-c python:clinic.gunicorn``) behind nginx."""
    production = ["--config", "python:clinic.gunicorn", "--timeout", "30"]
    with (
        gunicorn_machine(
            server_env("first"), log_path=tmp_path / "first.log", workers=2, extra_args=production
        ) as first,
        gunicorn_machine(
            server_env("second"), log_path=tmp_path / "second.log", workers=2, extra_args=production
        ) as second,
        nginx_cache(upstream_servers(first.address, second.address), tmp_path / "nginx") as (base, _purge),
    ):
        yield base, {"first": first, "second": second}


def test_a_server_killed_and_the_database_cut_lose_no_confirmed_booking_and_store_none_twice(site):
    base, servers = site
    patients = [Patient(base, number) for number in range(PATIENTS)]
    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        with TableLock():
            outcomes = [pool.submit(patient.book) for patient in patients]
            # Sends in flight on a server; then that one dies.
            dying = wait_for(sends_waiting, timeout=20)[0]
            servers.pop(dying).kill()
        wait_for(lambda: sum(outcome.done() for outcome in outcomes) >= AT_ONCE, timeout=20)
        before_the_cut = time.monotonic()
        with TableLock() as lock:
            # Sends in flight on the server left; then PostgreSQL ends every connection.
            assert wait_for(sends_waiting, timeout=20) == list(servers)
            assert cut_connections(keep=lock.pid) >= 1
            cut_at = time.monotonic()
        outcomes = [outcome.result(timeout=40) for outcome in outcomes]

    shown = {patient.email: outcome for patient, outcome in zip(patients, outcomes, strict=True)}
    # Each patient saw a confirmation or the clinic's page, nothing else.
    assert {email: seen for email, seen in shown.items() if seen not in {"confirmed", "try again"}} == {}
    # Each fault caught patients in flight; those who came after the last one were confirmed.
    told_to_try_again = [patient.ended for patient in patients if shown[patient.email] == "try again"]
    assert [ended for ended in told_to_try_again if ended < before_the_cut]
    assert [ended for ended in told_to_try_again if ended > before_the_cut]
    after_the_cut = [shown[patient.email] for patient in patients if patient.started > cut_at]
    assert after_the_cut
    assert set(after_the_cut) == {"confirmed"}

    stored = list(ConsultationRequest.objects.values_list("email", "confirmation_token", "reference"))
    emails = [email for email, _token, _reference in stored]
    # None stored twice, and none that no patient sent.
    assert len(emails) == len(set(emails))
    assert set(emails) <= set(shown)
    # Every confirmed booking is stored, as the patient was told; the faults struck inside the
    # other Sends' transactions, so nothing of theirs was kept.
    confirmed = {(p.email, p.confirmation_token, p.reference) for p in patients if p.confirmation_token}
    assert len(confirmed) == list(shown.values()).count("confirmed")
    assert set(stored) == confirmed

    # The mail worker's pass sends every stored booking its acknowledgement.
    port = free_port()
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        subprocess.run(
            [PYTHON, "manage.py", "mail_worker", "--once"],
            cwd=ROOT,
            env=site_env(EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(port), EMAIL_TIMEOUT="5"),
            check=True,
            timeout=60,
            capture_output=True,
        )
    finally:
        controller.stop()
    acknowledged = OutboundEmail.objects.filter(
        dedupe_key__endswith=":acknowledgement", status=OutboundEmail.Status.SENT
    )
    assert sorted(acknowledged.values_list("to", flat=True)) == sorted(emails)
    for email, _token, reference in stored:
        assert [
            content
            for recipients, content in mailbox.received
            if email in recipients and reference in content
        ]


class DyingServer:
    """An app server that takes a request and dies under it: it reads, then drops the connection."""

    def __init__(self):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.socket.getsockname()[1]}"
        self.requests = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                client, _address = self.socket.accept()
            except OSError:
                return
            with client:
                client.recv(65536)
                self.requests += 1


def test_a_send_in_spanish_whose_server_dies_gets_the_clinics_page_in_spanish(tmp_path):
    dying = DyingServer()
    env = server_env("up")
    with (
        gunicorn_machine(env, log_path=tmp_path / "up.log") as up,
        nginx_cache(upstream_servers(dying.address, up.address), tmp_path / "nginx") as (base, _purge),
    ):
        browser = Browser()
        # nginx takes the servers in turn: one of the two Sends reaches the one that dies.
        pages = [
            browser.request(base + "/es" + CHECK_URL, data={"form_token": "x"}, headers={"Referer": base})
            for _ in range(2)
        ]
    dying.socket.close()
    assert dying.requests == 1
    dropped = [(status, page) for status, _headers, page in pages if status != 403]
    assert len(dropped) == 1
    status, page = dropped[0]
    assert status == 503
    assert '<html lang="es">' in page
    assert "inténtelo" in page
    assert PHONE_LINK in page
    assert "nginx" not in page
