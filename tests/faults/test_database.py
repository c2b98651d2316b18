"""PostgreSQL cut off during a submission, slowed by a lock, or gone: never half-saved, never a hung worker."""

import json
import threading
import time

import pytest
from django.db import connection, transaction

from appointments.models import ConsultationRequest, OutboundEmail
from tests.factories import make_request
from tests.servers import gunicorn

from .conftest import Browser, marked_answers, serve, site_env, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True), pytest.mark.slow]

# Send, on the booking's check page.
FORM = "/consultation/check/"
# The server gives up waiting for a lock after this long (DATABASE_LOCK_TIMEOUT_MS' default).
LOCK_TIMEOUT_SECONDS = 5
GUNICORN_TIMEOUT_SECONDS = 30


class Rollback(Exception):
    pass


class Holder(threading.Thread):
    """Another database session that does ``hold()`` in a transaction, keeps it open, then rolls back."""

    def __init__(self, hold):
        super().__init__(daemon=True)
        self.hold = hold
        self.holding = threading.Event()
        self.release = threading.Event()
        self.pid = None

    def run(self):
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    self.pid = cursor.fetchone()[0]
                self.hold()
                self.holding.set()
                self.release.wait(timeout=30)
                raise Rollback
        except Rollback:
            pass
        finally:
            connection.close()

    def __enter__(self):
        self.start()
        assert self.holding.wait(timeout=10)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.join(timeout=10)


def waiting_backend(holder_pid):
    """The pid of a session of the test database waiting on a lock, other than the holder's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND pid NOT IN (pg_backend_pid(), %s)",
            [holder_pid],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def post_in_background(browser, url, data):
    result = {}

    def post():
        started = time.monotonic()
        result["response"] = browser.request(url, data=data, headers={"Referer": url})
        result["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    return thread, result


@pytest.fixture
def site(tmp_path):
    log = tmp_path / "server.log"
    with serve(site_env(), log_path=log, extra_args=["--timeout", str(GUNICORN_TIMEOUT_SECONDS)]) as base:
        yield base, log


def test_a_connection_killed_mid_submission_saves_all_or_nothing(site):
    base, _log = site
    browser = Browser()
    csrf, token = browser.form(base + FORM)
    data = {**marked_answers(), "csrfmiddlewaretoken": csrf, "form_token": token}
    # Another session inserts a request with the same one-time token and does not commit: the
    # server's INSERT, inside its transaction, waits on it; that is when its connection is cut.
    with Holder(lambda: make_request(form_token=token)) as holder:
        thread, result = post_in_background(browser, base + FORM, data)
        pid = wait_for(lambda: waiting_backend(holder.pid), timeout=LOCK_TIMEOUT_SECONDS - 1, interval=0.05)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        thread.join(timeout=20)
    status, _headers, page = result["response"]
    # The patient is told plainly, with the crisis lines and the phone number.
    assert status == 503
    assert "Nothing was saved" in page
    assert "988" in page
    assert "tel:+15550100100" in page
    # Nothing half-saved: no request, no e-mail.
    assert ConsultationRequest.objects.count() == 0
    assert OutboundEmail.objects.count() == 0

    # The next submission goes through on a fresh connection.
    status, headers, _page = browser.submit(base + FORM, marked_answers())
    assert status == 302
    assert ConsultationRequest.objects.count() == 1
    assert OutboundEmail.objects.count() == 2


def test_a_locked_table_answers_try_again_within_the_gunicorn_timeout(site):
    base, log = site
    browser = Browser()
    csrf, token = browser.form(base + FORM)
    data = {**marked_answers(), "csrfmiddlewaretoken": csrf, "form_token": token}

    def lock_the_requests_table():
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {ConsultationRequest._meta.db_table} IN ACCESS EXCLUSIVE MODE")

    started = time.monotonic()
    with Holder(lock_the_requests_table):
        thread, result = post_in_background(browser, base + FORM, data)
        # Pages that do not need the locked table are served meanwhile.
        for path in ["/", "/learn/"]:
            assert browser.request(base + path)[0] == 200
        thread.join(timeout=GUNICORN_TIMEOUT_SECONDS)
        status, _headers, page = result["response"]
        assert status == 503
        assert result["seconds"] < GUNICORN_TIMEOUT_SECONDS
        assert "please try again in a minute" in page
        assert "tel:+15550100100" in page
        # The lock is held for 10 seconds in all.
        time.sleep(max(0, 10 - (time.monotonic() - started)))
    assert ConsultationRequest.objects.count() == 0
    assert "WORKER TIMEOUT" not in log.read_text()

    status, _headers, _page = browser.submit(base + FORM, marked_answers())
    assert status == 302
    assert ConsultationRequest.objects.count() == 1


def test_readiness_is_503_without_the_database_and_healthz_says_so():
    env = site_env(DATABASE_URL="postgres://nobody@127.0.0.1:1/clinic")
    browser = Browser()
    with gunicorn(env) as base:
        status, _headers, body = browser.request(f"{base}/readyz")
        assert status == 503
        report = json.loads(body)
        assert report["status"] == "unavailable"
        assert report["checks"]["postgresql"]["state"] == "unavailable"
        assert browser.request(f"{base}/healthz")[0] == 503
