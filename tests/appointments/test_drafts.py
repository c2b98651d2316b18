"""Booking drafts: kept a step at a time, resumable in the same browser for 24 hours, then deleted;
an urgent draft left for 30 minutes reaches staff as an unfinished urgent request."""

import datetime
import re
import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appointments import jobs
from appointments.models import BookingDraft, ConsultationRequest, OutboundEmail
from appointments.services.drafts import booking_drafts_delete_expired, booking_drafts_escalate_urgent
from appointments.views import booking as booking_views
from tests.booking import form_token_in, walk
from tests.factories import booking_answers
from tests.outbox import render_pending

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(time_machine):
    """Move the clock: ``clock(minutes=31)`` puts now 31 minutes ahead of the test's start."""
    start = timezone.now()

    def move(**delta):
        moved = start + datetime.timedelta(**delta)
        time_machine.move_to(moved, tick=False)
        return moved

    return move


def test_each_step_is_kept_in_a_draft_named_by_a_cookie_of_its_own(client):
    response = walk(client, booking_answers(), stop_after="contact")
    assert response["Location"] == "/consultation/safety/"
    cookie = response.cookies["booking_draft"]
    assert cookie["max-age"] == 24 * 60 * 60
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    draft = BookingDraft.objects.get()
    assert draft.answers["contact"]["first_name"] == "Maria"
    assert draft.answers["contact"]["phone"] == "+12125550199"
    assert draft.has_contact_details and not draft.reports_self_harm
    assert "sessionid" not in client.cookies  # A patient has no session: the draft is its own.
    assert ConsultationRequest.objects.count() == 0


def test_a_patient_who_leaves_after_step_two_resumes_in_the_same_browser(client):
    walk(client, booking_answers(), stop_after="safety")
    # The browser is closed and opened again: only the draft's own cookie, with its 24 hours, is left.
    same_browser = Client()
    same_browser.cookies["booking_draft"] = client.cookies["booking_draft"].value
    html = same_browser.get("/consultation/you/").content.decode()
    assert 'value="Maria"' in html
    html = same_browser.get("/consultation/safety/").content.decode()
    assert re.search(r'<input type="radio"[^>]*name="self_harm_thoughts" value="no"[^>]*checked>', html)
    # Steps not yet done send the patient to the first unanswered one.
    assert same_browser.get("/consultation/check/")["Location"] == "/consultation/where/"
    # Another browser starts afresh.
    assert "Maria" not in Client().get("/consultation/you/").content.decode()


def test_a_later_step_without_the_earlier_ones_sends_the_patient_back(client):
    assert client.get("/consultation/visit/")["Location"] == "/consultation/you/"
    assert client.post("/consultation/where/", {"state": "NY", "is_adult": "yes"})["Location"] == (
        "/consultation/you/"
    )
    assert BookingDraft.objects.count() == 0


def test_change_links_return_to_the_check_page(client):
    walk(client, booking_answers(), stop_after="visit")
    html = client.get("/consultation/check/").content.decode()
    assert 'href="/consultation/where/?return=check"' in html
    assert "Okonkwo-Lindqvist" in html and "New York" in html and "Telehealth (video call)" in html
    response = client.post("/consultation/where/?return=check", {"state": "NJ", "is_adult": "yes"})
    assert response["Location"] == "/consultation/check/"
    assert "New Jersey" in client.get("/consultation/check/").content.decode()
    back = client.get("/consultation/where/?return=check").content.decode()
    assert '<a class="booking__back" href="/consultation/check/">Back</a>' in back


def test_send_saves_the_request_and_deletes_the_draft_in_one_transaction(client, monkeypatch):
    walk(client, booking_answers(), stop_after="visit")

    def broken(self, *args, **kwargs):
        raise RuntimeError("the database went away")

    # The draft is taken (deleted) first, then the request saved: the draft must come back.
    monkeypatch.setattr(ConsultationRequest, "save", broken)
    with pytest.raises(RuntimeError):
        client.post("/consultation/check/", {"consent_not_emergency": "on"})
    # Nothing half-saved: no draft gone without its request, no e-mail to the patient.
    assert ConsultationRequest.objects.count() == 0
    assert list(OutboundEmail.objects.values_list("subject", flat=True)) == []
    assert BookingDraft.objects.count() == 1


def test_expired_drafts_are_deleted_by_the_periodic_job(client, clock):
    walk(client, booking_answers(self_harm_thoughts="yes"), stop_after="safety")
    Client().post("/consultation/you/", {})  # a failed first step keeps nothing
    assert BookingDraft.objects.count() == 1
    clock(hours=23, minutes=59)
    assert booking_drafts_delete_expired() == 0
    clock(hours=24, minutes=1)
    assert booking_drafts_delete_expired() == 1
    assert BookingDraft.objects.count() == 0
    registered = jobs.periodic_jobs_discover()
    assert registered["appointments.jobs.booking_drafts_purge"].every == datetime.timedelta(hours=1)
    assert registered["appointments.jobs.urgent_booking_drafts_escalate"].every == datetime.timedelta(
        minutes=5
    )


def test_an_urgent_draft_left_30_minutes_reaches_staff_as_an_unfinished_urgent_request(
    client, clock, django_capture_on_commit_callbacks, settings, caplog
):
    walk(client, booking_answers(self_harm_thoughts="yes"), stop_after="safety")
    clock(minutes=29)
    assert booking_drafts_escalate_urgent() == []
    clock(minutes=31)
    caplog.set_level("INFO", logger="appointments")
    with django_capture_on_commit_callbacks(execute=True):
        (created,) = booking_drafts_escalate_urgent()
    saved = ConsultationRequest.objects.get()
    # The log counts them and names none: which request came this way would say who may be at risk.
    escalations = [r.getMessage() for r in caplog.records if r.name == "appointments.services.drafts"]
    assert escalations == ["Brought 1 unfinished booking(s) to staff"]
    assert created == saved
    assert (saved.is_unfinished, saved.is_urgent, saved.status) == (True, True, "new")
    assert (saved.first_name, saved.phone, saved.self_harm_thoughts) == ("Maria", "+12125550199", True)
    # Not answered yet, and not made up: no state, no age, no acknowledgement.
    assert (saved.state, saved.is_adult, saved.consent_not_emergency) == ("", None, False)
    assert "self_harm" in saved.flags
    # Staff are alerted as for any urgent request; the patient, who has sent nothing, is not e-mailed.
    render_pending()
    (alert,) = OutboundEmail.objects.all()
    assert alert.to == settings.CLINIC_STAFF_EMAIL
    assert alert.subject == f"Consultation request {saved.reference} needs attention soon"
    assert "An unfinished booking needs attention" in alert.body and "URGENT" in alert.body
    assert "Maria" not in alert.body and "harm" not in alert.body
    # Once only.
    assert booking_drafts_escalate_urgent() == []


def test_a_draft_without_a_yes_never_reaches_staff(client, clock):
    walk(client, booking_answers(), stop_after="visit")
    clock(hours=2)
    assert booking_drafts_escalate_urgent() == []
    assert ConsultationRequest.objects.count() == 0


def test_an_unfinished_request_is_completed_when_the_patient_sends_it(
    client, clock, django_capture_on_commit_callbacks
):
    data = booking_answers(self_harm_thoughts="yes")
    walk(client, data, stop_after="safety")
    clock(minutes=31)
    booking_drafts_escalate_urgent()
    with django_capture_on_commit_callbacks(execute=True):
        response = walk(client, data)
    saved = ConsultationRequest.objects.get()
    assert response["Location"] == saved.get_absolute_url()
    assert (saved.is_unfinished, saved.is_urgent, saved.state, saved.is_adult) == (False, True, "NY", True)
    assert saved.consent_not_emergency is True
    assert BookingDraft.objects.count() == 0
    assert OutboundEmail.objects.filter(to="maria@example.com").count() == 1


def test_the_admin_list_marks_an_unfinished_request(client, clock, login_as):
    walk(client, booking_answers(self_harm_thoughts="yes"), stop_after="safety")
    clock(minutes=31)
    booking_drafts_escalate_urgent()
    staff = Client()
    from tests.factories import log_in_verified, make_staff

    log_in_verified(staff, make_staff("front_desk"))
    html = staff.get("/admin/appointments/consultationrequest/").content.decode()
    assert '<span class="badge badge--urgent">Urgent</span>' in html
    assert ">Unfinished</span>" in html


def test_a_second_send_of_a_draft_sent_meanwhile_finds_its_request(client):
    from appointments.services.drafts import booking_draft_send

    walk(client, booking_answers(), stop_after="visit")
    draft = BookingDraft.objects.get()
    first, created = booking_draft_send(
        draft=draft, form_token=draft.form_token, answers={"consent_not_emergency": True}
    )
    # The second click held a copy of the draft from before the first one deleted it.
    again, created_again = booking_draft_send(
        draft=draft, form_token=draft.form_token, answers={"consent_not_emergency": True}
    )
    assert (created, created_again) == (True, False)
    assert again == first
    assert ConsultationRequest.objects.count() == 1


@pytest.mark.parametrize("role", ["front_desk", "clinician", "clinic_admin"])
def test_staff_open_an_unfinished_request_and_its_unanswered_questions_read_as_such(
    client, clock, login_as, role
):
    import csv
    import io

    walk(client, booking_answers(self_harm_thoughts="yes"), stop_after="safety")
    clock(minutes=31)
    (unfinished,) = booking_drafts_escalate_urgent()
    login_as(role)
    url = f"/admin/appointments/consultationrequest/{unfinished.pk}/change/"
    response = client.get(url)
    assert response.status_code == 200
    assert unfinished.reference in response.content.decode()
    if role == "clinic_admin":
        export = client.get("/admin/appointments/consultationrequest/export/")
        (row,) = csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode()))
        assert (row["Reference"], row["18 or older"], row["State"]) == (unfinished.reference, "", "")


def test_a_step_saved_while_the_draft_reaches_staff_keeps_the_link_to_its_request(client, clock):
    from appointments.services.drafts import booking_draft_save_step

    walk(client, booking_answers(self_harm_thoughts="yes"), stop_after="safety")
    stale = BookingDraft.objects.get()  # The copy a step's request loaded before the job ran.
    clock(minutes=31)
    (unfinished,) = booking_drafts_escalate_urgent()
    booking_draft_save_step(draft=stale, step="eligibility", answers={"state": "NY", "is_adult": True})
    assert BookingDraft.objects.get().consultation_request == unfinished
    # So it is not brought to staff a second time.
    clock(minutes=62)
    assert booking_drafts_escalate_urgent() == []


def test_an_unfinished_request_gets_its_staff_alert_then_the_patients_acknowledgement(client, clock):
    data = booking_answers(self_harm_thoughts="yes")
    walk(client, data, stop_after="safety")
    clock(minutes=31)
    (unfinished,) = booking_drafts_escalate_urgent()
    # The staff alert only: the patient has sent nothing yet.
    assert list(OutboundEmail.objects.values_list("dedupe_key", flat=True)) == [
        f"consultation-request:{unfinished.pk}:staff-alert"
    ]
    walk(client, data)
    assert sorted(OutboundEmail.objects.values_list("dedupe_key", flat=True)) == [
        f"consultation-request:{unfinished.pk}:acknowledgement",
        f"consultation-request:{unfinished.pk}:staff-alert",
    ]


def test_send_runs_four_statements_in_one_transaction(client, django_capture_on_commit_callbacks):
    walk(client, booking_answers(), stop_after="visit")
    form_token = form_token_in(client.get("/consultation/check/").content.decode())
    data = {"consent_not_emergency": "on", "form_token": form_token}
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/consultation/check/", data)
    assert response.status_code == 302
    statements = [query["sql"].split()[0] for query in queries.captured_queries]
    # Within the test's transaction Send's atomic block is a savepoint; there is none around the
    # request's INSERT (a reference that collides makes the whole transaction run again).
    assert statements.count("SAVEPOINT") == 1
    statements = [statement for statement in statements if statement not in ("SAVEPOINT", "RELEASE")]
    # The draft; the draft taken (deleted, and locked, in one statement); the request; its two
    # e-mails, by their template's name. (The draft's own form token names no request, so whether
    # it was sent before is not asked; what this browser sent is in a signed cookie, not a session
    # row.)
    assert statements == ["SELECT", "DELETE", "INSERT", "INSERT"], statements
    assert callbacks == []
    assert set(OutboundEmail.objects.values_list("template", "rendered_at")) == {
        ("patient_acknowledgement", None),
        ("staff_alert", None),
    }
    assert "sessionid" not in response.cookies


def test_a_browser_keeps_its_last_ten_confirmations_in_a_cookie_it_cannot_forge(client, settings):
    settings.CONSULTATION_RATE_LIMIT = "100/m"
    settings.CONSULTATION_PHONE_RATE_LIMIT = "100/d"  # one phone number, eleven requests
    locations = []
    for number in range(11):
        locations.append(walk(client, booking_answers(email=f"patient{number}@example.com"))["Location"])
    cookie = client.cookies["consultation_sent"]
    assert (cookie["httponly"], cookie["samesite"], cookie["max-age"]) == (True, "Lax", "")
    assert len(cookie.OutputString()) < 3000  # Well under the 4,096 bytes a browser keeps.
    assert client.get(locations[0]).status_code == 410  # The oldest is forgotten.
    assert all(client.get(location).status_code == 200 for location in locations[1:])

    # Another browser, or one that changed the cookie, sees none of them.
    assert Client().get(locations[-1]).status_code == 410
    changed = cookie.value[:-1] + ("A" if cookie.value[-1] != "A" else "B")
    client.cookies["consultation_sent"] = changed
    assert client.get(locations[-1]).status_code == 410


@pytest.mark.parametrize("value", [{"a": 1}, "abcdef", [[1, 2]], [["a", "b", "c", "x"]], [None], 5])
def test_a_sent_cookie_of_another_shape_is_no_cookie(client, value):
    """Signed with the right key but not as Send writes it (an older version's): as if absent."""
    from django.core import signing

    from appointments.views.booking import SENT_COOKIE, SENT_COOKIE_SALT

    walk(client, booking_answers(), stop_after="visit")
    client.cookies[SENT_COOKIE] = signing.dumps(value, salt=SENT_COOKIE_SALT)
    form_token = form_token_in(client.get("/consultation/check/").content.decode())
    response = client.post("/consultation/check/", {"consent_not_emergency": "on", "form_token": form_token})
    location = ConsultationRequest.objects.get().get_absolute_url()
    assert response["Location"] == location
    assert client.get(location).status_code == 200  # Send wrote the cookie anew.
    client.cookies[SENT_COOKIE] = signing.dumps(value, salt=SENT_COOKIE_SALT)
    assert client.get(location).status_code == 410


def test_the_confirmation_shows_for_a_while_after_the_last_look_at_it(client, settings, time_machine):
    settings.SESSION_COOKIE_AGE = 15 * 60
    location = walk(client, booking_answers())["Location"]
    sent_at = time.time()
    # Ten minutes later the page is looked at again: its cookie is written anew ...
    time_machine.move_to(sent_at + 10 * 60, tick=False)
    response = client.get(location)
    assert response.status_code == 200
    assert response.cookies["consultation_sent"].value
    # ... so twenty minutes after Send (ten after that look) it still shows; without that look it
    # would not, fifteen minutes after the cookie was written at Send.
    time_machine.move_to(sent_at + 20 * 60, tick=False)
    assert client.get(location).status_code == 200
    time_machine.move_to(sent_at + 36 * 60, tick=False)
    assert client.get(location).status_code == 410
    # And never past CONSULTATION_CONFIRMATION_MAX_AGE after Send, however often it is looked at.
    settings.CONSULTATION_CONFIRMATION_MAX_AGE = 30 * 60
    for minutes in (10, 20, 29):
        time_machine.move_to(sent_at + minutes * 60, tick=False)
        assert client.get(location).status_code == 200
    time_machine.move_to(sent_at + 31 * 60, tick=False)
    assert client.get(location).status_code == 410


def test_a_request_whose_emails_cannot_be_queued_is_not_saved(client, monkeypatch):
    """Send queues the request's e-mails in its own transaction: a failure keeps neither, and the
    patient's next Send saves both, once."""
    from django.db import OperationalError

    from appointments.services import outbox

    def locked(**kwargs):
        raise OperationalError("canceling statement due to lock timeout")

    with monkeypatch.context() as patched:
        patched.setattr(outbox, "outbound_emails_record", locked)
        response = walk(client, booking_answers())
    assert response.status_code == 503
    assert (ConsultationRequest.objects.count(), OutboundEmail.objects.count()) == (0, 0)
    assert walk(client, booking_answers()).status_code == 302
    assert (ConsultationRequest.objects.count(), OutboundEmail.objects.count()) == (1, 2)


def test_a_draft_that_reaches_staff_while_it_is_sent_completes_its_request(
    client, clock, monkeypatch, django_capture_on_commit_callbacks
):
    # The view reads the draft unlinked (its own token then names no request); the urgent drafts'
    # job links it before Send locks it: Send completes that request, and makes no second one.
    data = booking_answers(self_harm_thoughts="yes")
    walk(client, data, stop_after="visit")
    form_token = form_token_in(client.get("/consultation/check/").content.decode())
    read_draft = booking_views._draft

    def read_then_escalate(request):
        draft = read_draft(request)
        clock(minutes=31)
        with django_capture_on_commit_callbacks(execute=True):
            booking_drafts_escalate_urgent()
        return draft

    monkeypatch.setattr(booking_views, "_draft", read_then_escalate)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/consultation/check/", {"consent_not_emergency": "on", "form_token": form_token}
        )
    saved = ConsultationRequest.objects.get()
    assert response["Location"] == saved.get_absolute_url()
    assert (saved.is_unfinished, saved.is_urgent, saved.form_token) == (False, True, form_token)
    assert BookingDraft.objects.count() == 0
    # The staff alert when it reached them, the patient's acknowledgement when they sent it.
    assert OutboundEmail.objects.filter(to="maria@example.com").count() == 1
    assert OutboundEmail.objects.count() == 2


def test_a_colliding_reference_runs_sends_transaction_again(client, monkeypatch):
    """No savepoint guards the request's INSERT: a reference already taken rolls back the whole
    transaction (the draft's deletion too), which runs again with a new one."""
    from appointments.services import requests

    walk(Client(), booking_answers(email="first@example.com"))
    taken = ConsultationRequest.objects.get().reference
    draws = iter([taken, "KC-2345-6789"])
    monkeypatch.setattr(requests, "new_reference", lambda: next(draws))
    response = walk(client, booking_answers())
    saved = ConsultationRequest.objects.get(reference="KC-2345-6789")
    assert response["Location"] == saved.get_absolute_url()
    assert ConsultationRequest.objects.count() == 2
    assert BookingDraft.objects.count() == 0
